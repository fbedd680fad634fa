"""What a run shows early: phases before the first step, step events (with the time left) from
the first steps whatever `log_every` says, presets, and the canvas sketch in the samples."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from sketchpad.train import events, presets
from sketchpad.train.run import TrainingRun
from sketchpad.train.run_files import CANVAS_SKETCH_NAME
from sketchpad.train.timing import StepTiming
from tests.test_train import tiny_config

pytestmark = pytest.mark.usefixtures("isolated_user_dirs")


def test_phases_come_first_and_the_first_steps_report_the_time_left(tmp_path, data):
    got: list[dict] = []
    config = tiny_config(data, steps=6, log_every=5, sample_every=100, checkpoint_every=100)
    TrainingRun(config, tmp_path / "run", on_event=got.append).run()
    kinds = [e["event"] for e in got]
    before = kinds[: kinds.index("start")]
    assert before and set(before) == {"phase"}
    assert [e["phase"] for e in got[: len(before)]] == [
        "reading the run's configuration",
        "preparing the data",
        "building the networks",
    ]
    steps = [e for e in got if e["event"] == "step"]
    assert [e["step"] for e in steps] == [1, 2, 3, 5, 6]  # 1-3 early, 5 by log_every, 6 last
    assert steps[0]["eta_s"] > 0 and steps[-1]["eta_s"] == 0  # the estimate: StepTiming


def test_time_left_leaves_out_the_first_step_once_there_are_others():
    now = [0.0]
    timing = StepTiming(start_step=10, total_steps=20, clock=lambda: now[0])
    now[0] = 9.0  # a slow first step (warm-up)
    timing.stepped(11)
    assert timing.seconds_left(11) == pytest.approx(9 * 9.0)
    now[0] = 10.0
    timing.stepped(12)
    assert timing.seconds_left(12) == pytest.approx(8 * 1.0)
    now[0] = 13.0
    timing.stepped(14)
    assert timing.seconds_left(14) == pytest.approx(6 * (13.0 - 9.0) / 3)


def test_presets_are_valid_runs_and_quick_samples_early():
    quick = presets.preset("quick")
    assert quick.sample_every <= 25 and quick.steps % quick.checkpoint_every == 0
    full = presets.preset("full")
    assert presets.matching(full.steps, full.sample_every, full.checkpoint_every) is full
    assert presets.matching(123, 4, 5) is None


def test_the_canvas_sketch_in_the_run_folder_is_the_samples_last_row(tmp_path, data):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    canvas = Image.new("RGB", (80, 80), "white")
    ImageDraw.Draw(canvas).ellipse((10, 10, 70, 70), outline="black", width=4)
    canvas.save(run_dir / CANVAS_SKETCH_NAME)  # before the start: the tab's file, a new run
    got: list[dict] = []
    config = tiny_config(data, steps=2, sample_every=2, sample_count=2)
    TrainingRun(config, run_dir, on_event=got.append).run()
    sample = next(e for e in got if e["event"] == "sample")
    events.check(sample)
    assert sample["canvas"] is True
    grid = Image.open(sample["path"])
    assert grid.size == (3 * 32, 3 * 32)  # two pairs, then the canvas row
    row = grid.crop((0, 64, 32, 96)).convert("L")
    assert np.asarray(row).min() < 128  # the canvas's ink is drawn in its sketch column
    # Without a canvas sketch, the grid is the held-out pairs alone.
    (run_dir / CANVAS_SKETCH_NAME).unlink()
    got.clear()
    TrainingRun(config, tmp_path / "run2", on_event=got.append).run()
    sample = next(e for e in got if e["event"] == "sample")
    assert sample["canvas"] is False and Image.open(sample["path"]).size == (96, 64)
    assert sample["split"] in ("val", "test", "train")
