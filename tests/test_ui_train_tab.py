"""The Train tab with the real trainer as a child process (tiny data, tiny networks): start →
progress, curves and a sample; stop → checkpoint, exported model, process gone; resume; a bad
folder → an error in the tab; "Use in canvas" → the Draw tab's model changes."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
from conftest import save_tiny_model
from PySide6.QtCore import QSettings

from sketchpad.train import runs
from sketchpad.train.state import list_checkpoints
from sketchpad.ui.train_state import TrainState
from sketchpad.ui.train_tab import TrainTab
from tests.train_helpers import TINY_FLAGS, make_paired

R = 32


@pytest.fixture
def make_tab(qtbot, train_tab_env):
    tabs = []

    def make(**kwargs) -> TrainTab:
        tab = TrainTab(
            attach_running=False,
            extra_args=[*TINY_FLAGS, "--checkpoint-every", "100000"],
            child_env=train_tab_env,
            **kwargs,
        )
        tab.ask_close_action = lambda: "stop"
        tab.process._timer.setInterval(50)
        qtbot.addWidget(tab)
        tabs.append(tab)
        return tab

    yield make
    for tab in tabs:
        pid = tab.process.pid
        if pid is not None and runs.pid_alive(pid):
            os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))


def stop_and_wait(qtbot, tab: TrainTab):
    with qtbot.waitSignal(tab.process.ended, timeout=60_000) as ended:
        tab.stop_training()
        assert tab.state is TrainState.STOPPING and tab.stop_button.text() == "Force stop"
    return ended.args[0]


@pytest.mark.slow
def test_start_progress_sample_stop_resume_and_use_in_canvas(qtbot, tmp_path, make_tab):
    data = make_paired(tmp_path / "pairs")
    tab = make_tab(current_model=lambda: "/models/previous.safetensors")
    tab.start_panel.set_choice("scratch")
    tab.data_panel.set_folder(str(data))
    tab.settings_panel.steps.setValue(100_000)
    tab.show()

    assert tab.start_training("tiny")
    pid = tab.process.pid
    run = tab.run_dir
    qtbot.waitUntil(lambda: tab.monitor.progress.value() >= 3, timeout=60_000)
    assert tab.state is TrainState.RUNNING and tab.monitor.progress.maximum() == 100_000
    assert "images/s" in tab.monitor.progress.format() and "left" in tab.monitor.progress.format()
    qtbot.waitUntil(lambda: tab.monitor.sample_view.has_image(), timeout=30_000)
    qtbot.waitUntil(lambda: tab.monitor.loss_plot.redraws > 0, timeout=5_000)
    assert tab.name_edit.placeholderText() == ""  # no next run's name while this one runs
    assert "step 0 " not in tab.runs_bar.runs_box.currentText()  # the list follows the samples
    assert {"g_adv", "g_l1", "d_real", "d_fake"} <= set(tab.monitor.loss_plot.keys())
    assert "Training on" in tab.monitor.log_view.toPlainText()
    config = json.loads((run / "config.json").read_text())
    assert config["resolution"] == R and config["data"] == str(data)

    end = stop_and_wait(qtbot, tab)
    assert end.outcome == "stopped" and end.ok
    assert list_checkpoints(run) and (run / "model.safetensors").is_file()
    assert not runs.pid_alive(pid) and not tab.is_running()
    assert tab.monitor.error_text() == ""
    stopped_at = list_checkpoints(run)[-1][0]
    assert stopped_at >= 3 and f"Stopped at step {stopped_at}" in tab.monitor.status_label.text()

    # Use in canvas: the run's exported model; back: the model the canvas had before.
    assert (
        tab.runs_bar.runs_box.currentData() == str(run) and tab.canvas_link.use_button.isEnabled()
    )
    with qtbot.waitSignal(tab.useModelRequested, timeout=1_000) as used:
        tab.canvas_link.use_button.click()
    assert used.args == [str(run / "model.safetensors")]
    assert tab.canvas_link.back_button.isEnabled() and "tiny" in tab.canvas_link.canvas_label.text()
    with qtbot.waitSignal(tab.restoreModelRequested, timeout=1_000) as restored:
        tab.canvas_link.back_button.click()
    assert restored.args == ["/models/previous.safetensors"]

    # The run is listed and resumes from its checkpoint; the curves keep their history.
    info = tab.selected_run()
    assert info.can_resume and info.step == stopped_at and info.total_steps == 100_000
    assert tab.runs_bar.resume_button.isEnabled()
    points_before = tab.monitor.loss_plot.point_count()
    assert tab.resume_training()
    qtbot.waitUntil(lambda: tab.monitor.progress.value() > stopped_at, timeout=60_000)
    assert tab.monitor.loss_plot.point_count() >= points_before
    assert f"resuming from step_{stopped_at:08d}.pt" in tab.monitor.log_view.toPlainText()
    end = stop_and_wait(qtbot, tab)
    assert end.outcome == "stopped" and list_checkpoints(run)[-1][0] > stopped_at


def test_a_bad_folder_shows_a_clear_error_and_the_tab_keeps_working(qtbot, tmp_path, make_tab):
    tab = make_tab()
    tab.data_panel.set_folder(str(tmp_path / "no-such-folder"))
    tab.show()
    with qtbot.waitSignal(tab.process.ended, timeout=60_000) as ended:
        assert tab.start_training()
    end = ended.args[0]
    assert end.outcome == "failed" and end.step is None
    text = tab.monitor.error_text()
    assert "Training could not start" in text and "no such folder" in text
    assert "Last lines of the log" in text
    assert not tab.is_running() and tab.start_button.isEnabled()
    assert runs.list_runs() == []  # the failed start left no run folder behind
    qtbot.waitUntil(lambda: tab.data_panel.error is not None, timeout=10_000)
    assert "no such folder" in tab.data_panel.info_label.text()
    tab.data_panel.wait_idle()


def tiny_model(path: Path, seed: int) -> str:
    return save_tiny_model(path, seed=seed, name=path.parent.name)


def test_use_in_canvas_changes_the_draw_tabs_model(qtbot, tmp_path, train_tab_env, monkeypatch):
    from sketchpad.ui.main_window import MainWindow

    monkeypatch.setattr(
        "sketchpad.ui.main_window.default_model_path", lambda: tmp_path / "absent.safetensors"
    )
    monkeypatch.setattr("sketchpad.ui.main_window.examples_dir", lambda: tmp_path / "examples")
    first = tiny_model(tmp_path / "first" / "model.safetensors", seed=0)
    run = runs.new_run_dir("trained")
    (run / "config.json").write_text(json.dumps({"steps": 4, "resolution": R}))
    trained = tiny_model(run / "model.safetensors", seed=1)

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings, device="cpu")
    window.show_error = lambda title, text: None
    window.ask_save_changes = lambda: "discard"
    qtbot.addWidget(window)
    with qtbot.waitSignal(window.modelChanged, timeout=30_000):
        window.start(first)
    tab = TrainTab(
        current_model=lambda: window.model.path if window.model else None, attach_running=False
    )
    tab.useModelRequested.connect(window.open_model)
    tab.restoreModelRequested.connect(lambda path: path and window.open_model(path))
    window.add_tab(tab, "Train")

    assert tab.selected_run().path == run and tab.canvas_link.use_button.isEnabled()
    with qtbot.waitSignal(window.modelChanged, timeout=30_000) as changed:
        tab.use_in_canvas()
    assert changed.args[0].path == trained
    with qtbot.waitSignal(window.modelChanged, timeout=30_000) as changed:
        tab.restore_model()
    assert changed.args[0].path == first
    window.shutdown()
