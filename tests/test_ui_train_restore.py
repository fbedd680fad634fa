"""After a restart the Train tab shows the chosen run as it is on disk: its data, its settings,
its loss history (axes fitted) and its newest samples; new runs are named after their data."""

from __future__ import annotations

import json

from PIL import Image

from sketchpad.train import runs
from sketchpad.train.run_files import checkpoint_path
from sketchpad.ui.train_tab import TrainTab


def fake_run(name: str, data: str, steps: int = 777, at: int = 300):
    run = runs.new_run_dir(name)
    config = {"data": data, "steps": steps, "batch": 3, "sample_every": 7, "resolution": 64}
    config["checkpoint_every"], config["loss"] = 50, {"objective": "lsgan", "l1_weight": 42.0}
    (run / "config.json").write_text(json.dumps(config))
    checkpoint_path(run, at).parent.mkdir()
    checkpoint_path(run, at).write_bytes(b"state")
    lines = [
        json.dumps({"step": s, "g_l1": 50.0 - s / 10, "d_real": 0.5}) for s in range(10, at + 1, 10)
    ]
    (run / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    (run / "samples").mkdir()
    for step in (250, at):
        Image.new("RGB", (96, 64), "orange").save(run / "samples" / f"step_{step:08d}.png")
    sample = {"event": "sample", "step": at, "path": "x", "split": "val", "canvas": True}
    (run / "progress.jsonl").write_text(json.dumps(sample) + "\n")
    return run


def test_a_restarted_tab_shows_the_newest_run(qtbot, train_tab_env, tmp_path):
    folder = tmp_path / "my-drawings"
    folder.mkdir()
    run = fake_run("my-drawings", f"paired:{folder}")
    tab = TrainTab(attach_running=False)
    qtbot.addWidget(tab)
    assert tab.selected_run().path == run
    assert tab.data_panel.spec() == f"paired:{folder}"
    s = tab.settings_panel
    assert (s.steps.value(), s.batch.value(), s.sample_every.value()) == (777, 3, 7)
    assert s.objective.currentData() == "lsgan" and s.l1_weight.value() == 42.0
    assert tab.setup.preset_row.choice() == "custom"
    m = tab.monitor
    assert m.progress.value() == 300 and m.progress.maximum() == 777
    assert m.sample_view.has_image() and "Step 300" in m.sample_label.text()
    assert "held-out" in m.sample_label.text() and "your drawing" in m.sample_label.text()
    assert len(m.loss_plot.series["g_l1"]) == 30
    tab.resize(900, 600)
    tab.show()
    qtbot.waitUntil(lambda: m.loss_plot.adversarial.viewRange()[0][1] >= 300, timeout=5_000)
    low, high = m.loss_plot.adversarial.viewRange()[0]
    assert low <= 10 and high < 400  # the run's steps, not a previous run's or 0..1

    # The next run is named after its data, one the user may change before starting.
    assert tab.name_edit.placeholderText() == "my-drawings 2"
    tab.name_edit.setText("cats, take two")
    assert tab.name_edit.text() == "cats, take two"


def test_choosing_another_run_shows_it(qtbot, train_tab_env):
    fake_run("openmoji", "openmoji", steps=2000, at=500)
    newest = fake_run("second", "openmoji", steps=300, at=100)
    tab = TrainTab(attach_running=False)
    qtbot.addWidget(tab)
    assert tab.selected_run().path == newest and tab.settings_panel.steps.value() == 300
    box = tab.runs_bar.runs_box
    box.setCurrentIndex(1 - box.currentIndex())
    assert tab.settings_panel.steps.value() == 2000 and tab.monitor.progress.value() == 500
    assert tab.name_edit.placeholderText() == "openmoji 2"
