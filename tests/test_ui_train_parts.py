"""The Train tab's parts without the real trainer: the command line, curves that stay bounded,
runs on disk, settings → flags, the off-thread data preview, and the tab's reactions to a
scripted fake trainer (events, a crash, closing while training)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import save_tiny_model
from PIL import Image

from sketchpad.train import child, runs
from sketchpad.train.child import child_environment, trainer_command
from sketchpad.train.events import format_duration
from sketchpad.ui.loss_plot import LossPlot, Series
from sketchpad.ui.train_data import DataPanel
from sketchpad.ui.train_state import TrainState
from sketchpad.ui.train_tab import TrainTab
from tests.train_helpers import make_paired

R = 32


@pytest.fixture(autouse=True)
def user_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("SKETCHPAD_DATA_DIR", str(tmp_path / "user"))
    monkeypatch.setenv("SKETCHPAD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(
        "sketchpad.ui.train_settings.default_model_path", lambda: tmp_path / "absent.safetensors"
    )


@pytest.fixture
def tiny_model(tmp_path) -> str:
    return save_tiny_model(tmp_path / "tiny.safetensors")


def make_tab(qtbot, **kwargs) -> TrainTab:
    tab = TrainTab(attach_running=False, **kwargs)
    qtbot.addWidget(tab)
    tab.ask_close_action = lambda: "stop"
    return tab


def kill_left_over(tab: TrainTab) -> None:
    pid = tab.process.pid
    if pid is not None and runs.pid_alive(pid):
        os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))


# -- command, environment, formatting ---------------------------------------------------------


def noise_photos(folder, count: int):
    """`count` 48×40 noise pictures p0.png… in a new `folder`; the generator, to draw more."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(count):
        Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(
            folder / f"p{i}.png"
        )
    return folder, rng


def test_trainer_command_from_source_and_from_the_bundle(monkeypatch):
    program, args = trainer_command(["--steps", "3"])
    assert program == sys.executable and args == ["-m", "sketchpad", "train", "--steps", "3"]
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    program, args = trainer_command(["--steps", "3"])
    assert program == sys.executable and args == ["train", "--steps", "3"]


def test_child_environment_finds_this_source_tree_and_takes_overrides():
    env = child_environment({"SKETCHPAD_DATA_DIR": "elsewhere"})
    root = str(Path(child.__file__).resolve().parent.parent.parent)
    assert env["PYTHONPATH"].split(os.pathsep)[0] == root
    assert env["SKETCHPAD_DATA_DIR"] == "elsewhere" and int(env["OMP_NUM_THREADS"]) >= 1


def test_format_duration():
    assert format_duration(45.2) == "45 s"
    assert format_duration(185) == "3 min 05 s"
    assert format_duration(2 * 3600 + 7 * 60) == "2 h 07 min"


# -- curves -----------------------------------------------------------------------------------


def test_series_stays_bounded_and_keeps_the_shape():
    s = Series(max_points=64)
    steps = np.arange(1, 10_001)
    for x in steps:
        s.append(float(x), float(x) * 2)
    assert 32 <= len(s) <= 64 + 1  # + the newest, still filling bucket
    assert np.all(np.diff(s.x) > 0)
    assert s.x[0] < 500 and s.x[-1] > 9_500  # still spans the whole run
    spans = np.diff(s.x[:-1])
    assert spans.max() == spans.min() == s.stride  # every point covers an equal share
    np.testing.assert_allclose(s.y, 2 * s.x)  # averages of a line stay on it


def test_loss_plot_groups_known_and_unknown_terms(qtbot):
    plot = LossPlot(max_points=16)
    qtbot.addWidget(plot)
    for step in range(1, 101):
        plot.add(step, {"g_adv": 0.5, "g_l1": 90.0, "d_real": 0.7, "d_fake": 0.6, "novel": 1.0})
    plot.add(101, {"g_adv": float("nan")})  # skipped, never drawn
    plot.redraw()
    assert set(plot.keys()) == {"g_adv", "g_l1", "d_real", "d_fake", "novel"}
    assert all(len(s) <= 16 for s in plot.series.values())
    adversarial = {item.name() for item in plot.adversarial.listDataItems()}
    reconstruction = {item.name() for item in plot.reconstruction.listDataItems()}
    assert adversarial == {"G adversarial", "D real", "D fake"}
    assert reconstruction == {"G L1", "novel"}
    plot.clear()
    assert plot.point_count() == 0 and not plot.adversarial.listDataItems()


# -- runs on disk ---------------------------------------------------------------------------


def fake_run(root: Path, name: str, step: int, total: int, mtime: float) -> Path:
    run = root / name
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.json").write_text(
        json.dumps({"steps": total, "data": "openmoji", "resolution": 64})
    )
    if step:
        (run / "checkpoints" / f"step_{step:08d}.pt").write_bytes(b"")
    os.utime(run / "config.json", (mtime, mtime))
    return run


def test_runs_are_listed_newest_first_with_their_progress(tmp_path):
    root = runs.runs_dir()
    fake_run(root, "old", 300, 2000, 1_000)
    fake_run(root, "done", 50, 50, 2_000)
    fake_run(root, "empty", 0, 10, 3_000)
    (root / "not-a-run").mkdir()
    listed = runs.list_runs()
    assert [r.name for r in listed] == ["empty", "done", "old"]
    empty, done, old = listed
    assert (old.step, old.total_steps, old.status(), old.can_resume) == (300, 2000, "stopped", True)
    assert done.finished and done.status() == "finished"
    assert not empty.can_resume and empty.status() == "no checkpoint"
    assert old.summary() == "old — step 300 / 2000, stopped (openmoji, 64 px)"

    a, b = runs.new_run_dir("my run", now=0), runs.new_run_dir("my run", now=0)
    assert a.name == "my run" and b.name == "my run 2"
    assert runs.suggest_run_name("paired:" + str(Path("x") / "my run")) == "my run 3"
    assert runs.suggest_run_name("openmoji") == "openmoji"
    assert runs.data_name(str(Path("pictures") / "cats")) == "cats"
    for name in runs.OWN_FILES:
        (a / name).write_text("x")
    assert runs.discard_if_unused(a) and not a.exists()
    (b / "config.json").write_text("{}")
    assert not runs.discard_if_unused(b) and b.exists()


def test_pid_alive_tells_running_from_finished_processes():
    assert runs.pid_alive(os.getpid())
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert not runs.pid_alive(proc.pid)


# -- settings and starting point -------------------------------------------------------------


def test_fine_tuning_greys_out_resolution_and_networks(qtbot, tiny_model):
    tab = make_tab(qtbot, current_model=lambda: tiny_model)
    s = tab.settings_panel
    assert tab.start_panel.choice() == "current"
    assert not s._resolution_row.isEnabled() and not s._branches_row.isEnabled()
    assert "model file" in s.resolution.toolTip()
    assert s.effective_resolution() == R and tab.data_panel.resolution == R
    args = tab.trainer_args()
    assert args[args.index("--init") + 1] == tiny_model
    assert "--resolution" not in args and "--d-branches" not in args
    assert "tiny" in tab.start_panel.info.text() and "32 px" in tab.start_panel.info.text()

    tab.start_panel.set_choice("scratch")
    assert s._resolution_row.isEnabled() and "--init" not in tab.trainer_args()
    args = tab.trainer_args()
    assert args[args.index("--resolution") + 1] == str(s.chosen_resolution())
    assert tab.data_panel.resolution == s.chosen_resolution()


def test_settings_default_to_the_trainers_and_advanced_starts_collapsed(qtbot):
    from models.config import OBJECTIVES
    from sketchpad.train.config import TrainConfig
    from sketchpad.ui.train_settings import OBJECTIVE_NAMES

    tab = make_tab(qtbot, extra_args=["--log-every", "1"])
    tab.show()
    s = tab.settings_panel
    assert not s.advanced.isVisible()
    s.advanced_button.click()
    assert s.advanced.isVisible()
    assert tab.start_panel.choice() == "scratch"  # no canvas model, no default model here
    args = tab.trainer_args()
    assert args[-2:] == ["--log-every", "1"]
    defaults = TrainConfig()
    assert args[args.index("--steps") + 1] == str(defaults.steps)
    assert args[args.index("--objective") + 1] == defaults.loss.objective
    assert set(OBJECTIVE_NAMES) == set(OBJECTIVES)
    assert float(args[args.index("--lr-g") + 1]) == defaults.lr_g
    assert args[args.index("--data") + 1] == ""  # nothing chosen, nothing rendered
    assert not tab.start_training() and not tab.is_running()
    assert "Choose the data" in tab.monitor.error_text()
    tab.data_panel.set_spec("openmoji")
    assert tab.monitor.error_text() == ""  # choosing the data solves it
    args = tab.trainer_args()
    assert args[args.index("--data") + 1] == "openmoji"


# -- data preview -----------------------------------------------------------------------------


def test_preview_runs_off_the_gui_thread_and_reports_bad_folders(qtbot, tmp_path):
    panel = DataPanel()
    qtbot.addWidget(panel)
    panel.set_resolution(R)
    panel.set_folder(str(make_paired(tmp_path / "pairs")))
    panel.show()
    with qtbot.waitSignal(panel.previewReady, timeout=30_000) as got:
        pass
    summary = got.args[0]
    assert summary.kind == "paired" and summary.detected and summary.total == 10
    assert "Paired" in panel.info_label.text() and "10 pairs" in panel.info_label.text()
    assert panel.preview.has_image()
    w, h = panel.preview.image_size()
    assert w > 2 * R and h >= R

    photos, _ = noise_photos(tmp_path / "photos", 4)
    (photos / "notes.txt").write_text("not a picture")
    panel.set_folder(str(photos))
    with qtbot.waitSignal(panel.previewReady, timeout=30_000) as got:
        pass
    assert got.args[0].kind == "photos" and "lines" in (got.args[0].detection or "")
    assert "1 file skipped" in panel.info_label.text() and "notes.txt" in panel.info_label.toolTip()

    panel.set_folder(str(tmp_path / "missing"))
    with qtbot.waitSignal(panel.previewFailed, timeout=10_000) as failed:
        pass
    assert "no such folder" in failed.args[0]
    assert "no such folder" in panel.info_label.text() and not panel.preview.has_image()
    panel.wait_idle()


def test_preview_counts_and_lists_skipped_files_from_one_record(qtbot, tmp_path, recwarn):
    photos, rng = noise_photos(tmp_path / "photos", 3)
    (photos / "notes.txt").write_text("not a picture")  # skipped when listed
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(tmp_path / "w.png")
    (photos / "cut.png").write_bytes((tmp_path / "w.png").read_bytes()[:5000])  # when loaded
    panel = DataPanel()
    qtbot.addWidget(panel)
    panel.set_resolution(R)
    panel.set_folder(str(photos), "photos")
    panel.show()
    with qtbot.waitSignal(panel.previewReady, timeout=30_000) as got:
        pass
    panel.wait_idle()
    summary, tip = got.args[0], panel.info_label.toolTip()
    assert len(summary.skipped) == 2 and "2 files skipped" in panel.info_label.text()
    assert "2 files skipped:" in tip and "1 file skipped" not in tip
    assert tip.count("notes.txt") == 1 and tip.count("cut.png") == 1  # each named once
    assert not [w for w in recwarn if "skipp" in str(w.message)]  # the panel says it, not stderr


# -- the tab with a scripted fake trainer ------------------------------------------------------

FAKE_TRAINER = """
import json, sys, time
from pathlib import Path
args = sys.argv[1:]
out = Path(args[args.index("--out") + 1])
mode = {mode!r}
def emit(kind, **fields):
    print(json.dumps({{"event": kind, **fields, "time": time.time()}}), flush=True)
if mode == "crash":
    print("Traceback (most recent call last):", file=sys.stderr)
    print("RuntimeError: boom in the trainer", file=sys.stderr, flush=True)
    sys.exit(3)
emit("start", config={{}}, run_dir=str(out), device="CPU (fake)", precision="fp32",
     start_step=0, total_steps=40, batch_per_process=2, batch_total=2, world_size=1,
     data="Paired data: 10 pairs")
for step in range(1, 5):
    emit("step", step=step, total_steps=40, epoch=0, losses={{"g_adv": 1.0 / step,
         "g_l1": 90.0, "d_real": 0.7, "d_fake": 0.6}}, lr_g=2e-4, lr_d=2e-4,
         images_per_s=12.5, eta_s=100.0)
emit("sample", step=4, path={sample!r})
emit("log", level="warning", message="a fake warning")
if mode == "wait":
    time.sleep(60)
"""


@pytest.fixture
def fake_trainer(tmp_path, monkeypatch):
    sample = tmp_path / "sample.png"
    Image.new("RGB", (3 * R, 2 * R), "orange").save(sample)

    def install(mode: str) -> None:
        script = tmp_path / f"fake_train_{mode}.py"
        script.write_text(textwrap.dedent(FAKE_TRAINER.format(mode=mode, sample=str(sample))))
        monkeypatch.setattr(
            child, "trainer_command", lambda args: (sys.executable, [str(script), *args])
        )

    return install


def test_events_drive_progress_curves_sample_and_log(qtbot, fake_trainer):
    fake_trainer("wait")
    tab = make_tab(qtbot)
    tab.data_panel.set_spec("openmoji")  # hidden: its preview is not rendered
    tab.process._timer.setInterval(50)
    try:
        assert tab.start_training("fake")
        assert tab.is_running() and not tab.start_button.isEnabled()
        qtbot.waitUntil(lambda: tab.monitor.sample_view.has_image(), timeout=15_000)
        qtbot.waitUntil(lambda: tab.monitor.progress.value() == 4, timeout=5_000)
        assert tab.state is TrainState.RUNNING and tab.monitor.progress.maximum() == 40
        assert (
            "12.5 images/s" in tab.monitor.progress.format()
            and "1 min 40 s left" in tab.monitor.progress.format()
        )
        qtbot.waitUntil(lambda: tab.monitor.loss_plot.redraws > 0, timeout=5_000)
        assert len(tab.monitor.loss_plot.series["g_adv"]) == 4
        assert "Warning: a fake warning" in tab.monitor.log_view.toPlainText()
        assert (
            tab.runs_bar.runs_box.currentData() == str(tab.run_dir)
            and not tab.runs_bar.runs_box.isEnabled()
        )

        # Closing the app while training: cancel keeps everything as it is; keep leaves the
        # trainer running on its own; a new tab follows it again.
        tab.ask_close_action = lambda: "cancel"
        assert not tab.confirm_close() and tab.is_running()
        tab.ask_close_action = lambda: "keep"
        pid = tab.process.pid
        assert tab.confirm_close() and not tab.is_running() and runs.pid_alive(pid)

        again = TrainTab()
        qtbot.addWidget(again)
        assert again.is_running() and again.process.pid == pid
        qtbot.waitUntil(lambda: again.monitor.progress.value() == 4, timeout=5_000)  # replayed
        assert again.monitor.sample_view.has_image()
        again.stop_training()  # the fake ignores nothing: SIGTERM ends it
        with qtbot.waitSignal(again.process.ended, timeout=10_000) as ended:
            pass
        assert ended.args[0].outcome == "stopped" and not runs.pid_alive(pid)
        assert not again.is_running() and again.start_button.isEnabled()
    finally:
        kill_left_over(tab)


def test_a_crash_shows_the_error_with_the_last_log_lines(qtbot, fake_trainer, tmp_path):
    fake_trainer("crash")
    tab = make_tab(qtbot)
    tab.data_panel.set_spec("paired:" + str(make_paired(tmp_path / "pairs")))
    tab.show()
    tab.process._timer.setInterval(50)
    with qtbot.waitSignal(tab.process.ended, timeout=15_000) as ended:
        tab.start_training()
    end = ended.args[0]
    assert end.outcome == "crashed" and end.exit_code == 3
    text = tab.monitor.error_text()
    assert "The trainer crashed" in text and "exit code 3" in text
    assert "RuntimeError: boom in the trainer" in text
    assert "boom in the trainer" in tab.monitor.log_view.toPlainText()
    assert not tab.is_running() and tab.start_button.isEnabled()
    assert tab.run_dir is None  # nothing was trained: the empty run folder is gone
    assert runs.list_runs() == []


def test_starting_point_follows_the_canvas_until_the_user_picks(qtbot, tiny_model):
    current: list[str | None] = [None]
    tab = make_tab(qtbot, current_model=lambda: current[0])
    assert tab.start_panel.choice() == "scratch"  # the canvas has no model yet
    current[0] = tiny_model
    tab.show()  # showing the tab looks again
    assert tab.start_panel.choice() == "current" and "--init" in tab.trainer_args()
    tab.start_panel.set_choice("scratch")
    tab.hide()
    tab.show()
    assert tab.start_panel.choice() == "scratch"  # the user's choice stays


def test_the_canvas_follows_new_checkpoints_of_the_run_it_uses(qtbot, tmp_path):
    tab = make_tab(qtbot, current_model=lambda: "before.safetensors")
    run = runs.new_run_dir("r")
    (run / "config.json").write_text(json.dumps({"steps": 10}))
    model = run / "model.safetensors"
    model.write_bytes(b"")
    tab.refresh_runs()
    with qtbot.waitSignal(tab.useModelRequested) as used:
        tab.use_in_canvas()
    assert used.args == [str(model)]
    checkpoint = {"event": "checkpoint", "step": 5, "path": "x", "model": str(model)}
    with qtbot.waitSignal(tab.useModelRequested) as again:
        tab.process.eventReceived.emit(checkpoint)
    assert again.args == [str(model)]
    with qtbot.waitSignal(tab.restoreModelRequested) as back:
        tab.restore_model()
    assert back.args == ["before.safetensors"]
    with qtbot.assertNotEmitted(tab.useModelRequested):
        tab.process.eventReceived.emit(checkpoint)


def test_a_superseded_preview_gives_up_its_long_render(qtbot, monkeypatch):
    from sketchpad.ui.train_data import PreviewJob, _PreviewSignals

    rendered = []

    def slow_open_source(spec, *, resolution, split, augment, progress, warn=True):
        for i in range(100):
            progress(i + 1, 100)
            rendered.append(i)
        raise AssertionError("the job should have given up")

    monkeypatch.setattr("sketchpad.data.open_source", slow_open_source)
    signals = _PreviewSignals()
    signals.wanted = ("openmoji", 64)  # the user has since chosen another resolution
    job = PreviewJob(1, "openmoji", 128, 0, signals)
    with qtbot.assertNotEmitted(signals.failed), qtbot.assertNotEmitted(signals.ready):
        job.run()
    assert rendered == []


def test_the_data_line_names_the_kind_as_it_is_written():
    from sketchpad.ui.train_data import DataSummary

    def line(kind: str) -> str:
        return DataSummary(kind, False, None, {"train": 3}, [], "").text()

    assert line("openmoji").startswith("<b>OpenMoji</b>") and line("paired").startswith("<b>Paired")
