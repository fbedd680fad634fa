"""`sketchpad` without a subcommand: the app starts, loads the model and shows a picture."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TINY_G, save_tiny_model
from PySide6.QtCore import QSettings

from sketchpad.ui import app as app_module
from sketchpad.ui.main_window import NO_MODEL_TEXT, MainWindow

ROOT = Path(__file__).resolve().parent.parent


def _app_env(tmp_path: Path) -> dict[str, str]:
    """The app as a child process, its settings and user data in tmp_path."""
    return {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "SKETCHPAD_DATA_DIR": str(tmp_path / "data"),
        "SKETCHPAD_CONFIG_DIR": str(tmp_path / "config"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "HOME": str(tmp_path),
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }


@pytest.mark.slow
def test_the_app_shows_its_first_picture(tmp_path):
    """End to end in a child process (its settings and user data in tmp_path)."""
    path = save_tiny_model(tmp_path / "m.safetensors", TINY_G, None, name="m")
    env = _app_env(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "sketchpad", f"--model={path}", "--quit-after-first-frame"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "first picture shown" in done.stdout


def test_process_age_is_positive():
    assert 0 < app_module.seconds_since_process_start() < 3600 * 24 * 365


def test_without_a_model_the_window_says_how_to_open_one(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("SKETCHPAD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(
        "sketchpad.ui.main_window.default_model_path", lambda: tmp_path / "absent.safetensors"
    )
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings)
    qtbot.addWidget(window)
    window.start()
    assert window.model is None and window.result_view.message() == NO_MODEL_TEXT
    assert "Open model" in window.statusBar().currentMessage()
    assert not window.default_model_action.isEnabled()
    window.shutdown()


@pytest.mark.parametrize("argv", [["--device", "tpu"], ["--model"]])
def test_bad_arguments_are_refused(argv):
    with pytest.raises(SystemExit):
        app_module.build_parser().parse_args(argv)


def test_the_top_level_help_lists_the_apps_options(capsys):
    from sketchpad.cli import main

    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    app_options = [o for a in app_module.build_parser()._actions for o in a.option_strings]
    assert "--model" in app_options and "--model PATH" in text
    for option in app_options:  # every option the app accepts
        assert option in text


def test_the_listed_app_options_leave_a_subcommands_arguments_alone():
    from sketchpad.cli import build_parser

    args = build_parser().parse_args(["inspect", "x.safetensors"])
    assert not hasattr(args, "quit_after_first_frame") and args.command == "inspect"


# The app in a child process with its default model at argv[1] (absent or a file of the test's).
APP_WITH_DEFAULT = """
import sys
from pathlib import Path
import sketchpad.ui.main_window as main_window
main_window.default_model_path = lambda: Path(sys.argv[1])
from sketchpad.ui.app import run_app
sys.exit(run_app(sys.argv[2:]))
"""


def _run_app(tmp_path: Path, default: Path, *argv: str) -> subprocess.CompletedProcess:
    env = _app_env(tmp_path)
    return subprocess.run(
        [sys.executable, "-c", APP_WITH_DEFAULT, str(default), *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.slow
def test_quit_after_first_frame_exits_non_zero_when_no_model_loads(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a model")
    done = _run_app(
        tmp_path, tmp_path / "absent.safetensors", f"--model={bad}", "--quit-after-first-frame"
    )
    assert done.returncode == 2, done.stderr
    assert "no model could be loaded" in done.stderr and "bad.safetensors" in done.stderr
    assert "Traceback" not in done.stderr and "first picture" not in done.stdout


@pytest.mark.slow
def test_a_bad_model_on_the_command_line_falls_back_to_the_default(tmp_path):
    default = save_tiny_model(tmp_path / "default.safetensors", TINY_G, None, name="default")
    done = _run_app(tmp_path, Path(default), f"--model={tmp_path}", "--quit-after-first-frame")
    assert done.returncode == 0, done.stderr
    assert "first picture shown" in done.stdout
    assert "is a folder" in done.stderr and "Using default instead" in done.stderr


def test_a_config_folder_override_holds_the_settings_too(tmp_path, monkeypatch):
    """`SKETCHPAD_CONFIG_DIR` (fresh folders for a benchmark's launches, a portable install)
    moves the settings as well: a model loaded there is not remembered in the user's own."""
    from sketchpad.ui.settings import AppSettings

    monkeypatch.setenv("SKETCHPAD_CONFIG_DIR", str(tmp_path / "config"))
    settings = AppSettings()
    settings.store.setValue("model/last", "elsewhere.safetensors")
    settings.store.sync()
    assert Path(settings.store.fileName()) == tmp_path / "config" / "settings.ini"
    assert "elsewhere.safetensors" in (tmp_path / "config" / "settings.ini").read_text()
    monkeypatch.delenv("SKETCHPAD_CONFIG_DIR")
    assert Path(AppSettings().store.fileName()).parent != tmp_path / "config"
