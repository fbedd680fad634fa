"""The Train tab's early feedback: the trainer's phases before its first step, the time left,
the length presets, and what the sample grid says it shows."""

from __future__ import annotations

import pytest
from conftest import save_tiny_model

from sketchpad.train import presets
from sketchpad.ui.run_monitor import RunMonitor, sample_caption
from sketchpad.ui.train_tab import TrainTab


@pytest.fixture
def tab(qtbot, train_tab_env):
    tab = TrainTab(attach_running=False)
    qtbot.addWidget(tab)
    return tab


def test_phases_and_the_first_steps_show_in_the_progress_bar(qtbot):
    monitor = RunMonitor()
    qtbot.addWidget(monitor)
    monitor.show_event({"event": "phase", "phase": "preparing the data"})
    assert monitor.progress.format() == "Preparing the data…"
    assert monitor.progress.maximum() == 0  # busy, no step count yet
    monitor.show_event(
        {
            "event": "start",
            "run_dir": "r",
            "total_steps": 300,
            "start_step": 0,
            "device": "CPU",
            "batch_total": 8,
            "data": "OpenMoji",
        }
    )
    assert monitor.progress.format().startswith("Step 0 / 300 · timing the first steps")
    step = {"event": "step", "step": 1, "total_steps": 300, "losses": {"g_l1": 1.0}}
    monitor.show_event({**step, "images_per_s": 10.0, "eta_s": 225.0})
    assert "3 min 45 s left" in monitor.progress.format()


def test_sample_caption_says_which_pairs_and_the_canvas_row():
    held = sample_caption({"step": 25, "split": "val", "canvas": True})
    assert "held-out" in held and "your drawing" in held
    small = sample_caption({"step": 25, "split": "train", "canvas": False})
    assert "training pairs" in small and "your drawing" not in small
    assert "fixed pairs" in sample_caption({"step": 1})  # an older trainer says less


def test_length_presets_set_the_cadences_and_follow_the_starting_point(qtbot, tab, tmp_path):
    rows, s = tab.setup.preset_row, tab.settings_panel
    assert tab.start_panel.choice() == "scratch" and rows.choice() == "full"
    model = save_tiny_model(tmp_path / "tiny.safetensors")
    tab.start_panel.model_file = model
    tab.start_panel.set_choice("file", model)
    quick = presets.preset("quick")
    assert rows.choice() == "quick"  # fine-tuning: the quick run, until the user chooses
    args = tab.trainer_args()
    assert args[args.index("--steps") + 1] == str(quick.steps)
    assert args[args.index("--sample-every") + 1] == str(quick.sample_every)
    assert args[args.index("--checkpoint-every") + 1] == str(quick.checkpoint_every)

    s.steps.setValue(1234)  # by hand: Custom, and the choice is the user's from now on
    assert rows.choice() == "custom" and "1,234 steps" in rows.hint.text()
    rows.combo.setCurrentIndex(rows.combo.findData("full"))
    rows.combo.activated.emit(rows.combo.currentIndex())
    assert s.steps.value() == presets.preset("full").steps and rows.choice() == "full"
    tab.start_panel.set_choice("scratch")
    tab.start_panel.set_choice("file", model)
    assert rows.choice() == "full"  # the user's choice stays


def test_a_length_typed_by_hand_stays_when_the_starting_point_changes(qtbot, tab, tmp_path):
    model = save_tiny_model(tmp_path / "tiny.safetensors")
    tab.settings_panel.steps.setValue(600)
    tab.start_panel.set_choice("file", model)
    assert tab.settings_panel.steps.value() == 600 and tab.setup.preset_row.choice() == "custom"


def test_legends_sit_beside_the_curves_not_over_them(qtbot):
    from sketchpad.ui.loss_plot import LossPlot

    plot = LossPlot()
    qtbot.addWidget(plot)
    plot.resize(700, 400)
    plot.show()
    qtbot.waitExposed(plot)
    for step in range(1, 50):
        plot.add(step, {"g_adv": 1.0, "d_real": 0.5, "d_fake": 0.4, "g_l1": 30.0, "g_fm": 2.0})
    plot.redraw()
    qtbot.waitUntil(lambda: plot.legends["reconstruction"].pos().x() > 0)  # laid out
    for name, chart in (("adversarial", plot.adversarial), ("reconstruction", plot.reconstruction)):
        legend = plot.legends[name].sceneBoundingRect()
        assert len(plot.legends[name].items) == len(chart.listDataItems())
        assert not legend.intersects(chart.getViewBox().sceneBoundingRect())
    plot.clear()
    assert not plot.legends["adversarial"].items
