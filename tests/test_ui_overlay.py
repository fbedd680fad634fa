"""The verdict overlay and the attention probe in the window, on tiny real models: what is
asked of the engine, what is drawn where, and what a model without a discriminator or without
attention offers. Settings and user data live in tmp_path; nothing blocks offscreen."""

import functools
import threading

import numpy as np
import pytest
from conftest import tiny_networks
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest

from models import (
    DiscriminatorConfig,
    GeneratorConfig,
    build_discriminator,
    build_generator,
    receptive_fields,
)
from sketchpad.checkpoint import save_model
from sketchpad.ui.main_window import MainWindow
from sketchpad.ui.overlay import OFF, PROBE, VERDICTS
from sketchpad.verdicts import (
    COMBINED,
    cell_centre,
    centred_rgba,
    pixel_map,
    verdict_scale,
    weight_rgba,
)

R = 32
G_CFG = GeneratorConfig(resolution=R, base_width=4, max_width=8, depth=3, attention_levels=(1, 2))
D_CFG = DiscriminatorConfig(ndf=4, branches=2, resolution=R, max_mult=2)
UNET_CFG = GeneratorConfig(arch="unet", resolution=R, depth=5, base_width=4, attention_levels=())


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    full, bare, unet = (folder / f"{n}.safetensors" for n in ("full", "bare", "unet"))
    g, d = tiny_networks(G_CFG, D_CFG, attention=0.5)
    save_model(full, g, G_CFG, d, D_CFG, name="full")
    save_model(bare, g, G_CFG, name="bare")
    save_model(unet, build_generator(UNET_CFG), UNET_CFG, name="unet")
    return {"full": str(full), "bare": str(bare), "unet": str(unet)}


@pytest.fixture
def make_window(make_window):
    """The shared factory, shown at the size the positions below assume."""
    return functools.partial(make_window, show=True)


def draw(w: MainWindow, y: float = 200.0) -> None:
    c = w.canvas
    c.begin_stroke(QPointF(60, y))
    for i in range(1, 5):
        c.continue_stroke(QPointF(60 + 100 * i, y + 40 * (i % 2)))
    c.end_stroke()


def settled(w: MainWindow) -> bool:
    f = w.last_frame
    return f is not None and f.job.job_id == w.service.last_job_id and not w.service.busy


def wait_for(qtbot, w: MainWindow, condition=lambda f: True) -> None:
    qtbot.waitUntil(lambda: settled(w) and condition(w.last_frame), timeout=10_000)


def view_point(w: MainWindow, y: float, x: float) -> QPoint:
    """Widget position of the continuous model pixel (y, x) in the result view."""
    rect = w.result_view.target_rect()
    s = rect.width() / R
    return QPoint(int(rect.x() + x * s), int(rect.y() + y * s))


def choose_branch(w: MainWindow, value) -> None:
    box = w.draw_tab.overlay_panel.branch_box
    index = box.findData(value)
    box.setCurrentIndex(index)
    box.activated.emit(index)


def test_overlay_off_means_the_discriminator_does_not_run(make_window, models, qtbot, monkeypatch):
    calls = []
    cls = type(build_discriminator(D_CFG))
    original = cls.forward

    def spy(self, *args, **kwargs):
        calls.append(threading.get_ident())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cls, "forward", spy)
    w = make_window(models["full"])
    tab = w.draw_tab
    assert tab.overlay_mode == OFF and not w.want_verdicts
    assert tab.verdicts_action.shortcut().toString() == "V"
    draw(w)
    wait_for(qtbot, w)
    assert calls == [] and w.last_frame.result.verdicts is None

    tab.verdicts_action.trigger()  # on: the next picture comes with its verdicts
    assert w.want_verdicts and tab.overlay_mode == VERDICTS
    assert tab.overlay_panel.legend.isVisibleTo(
        tab
    ) and not tab.overlay_panel.idle_label.isVisibleTo(tab)
    wait_for(qtbot, w, lambda f: f.result.verdicts is not None)
    assert calls and threading.get_ident() not in calls  # in the worker, with the picture
    assert "discriminator" in w.last_frame.result.timings
    n = len(calls)
    draw(w, y=300)  # verdicts update live with the image
    wait_for(qtbot, w)
    assert len(calls) > n and w.last_frame.result.verdicts is not None

    tab.verdicts_action.trigger()  # off again: no more discriminator runs
    assert not w.want_verdicts and tab.overlay_panel.mode == OFF
    assert not tab.overlay_panel.legend.isVisibleTo(
        tab
    ) and tab.overlay_panel.idle_label.isVisibleTo(tab)
    n = len(calls)
    draw(w, y=400)
    wait_for(qtbot, w)
    assert len(calls) == n and w.last_frame.result.verdicts is None


def test_verdict_maps_cells_and_colours(make_window, models, qtbot):
    w = make_window(models["full"])
    tab, overlay = w.draw_tab, w.draw_tab.overlay
    draw(w)
    tab.verdicts_action.trigger()
    wait_for(qtbot, w, lambda f: f.result.verdicts is not None)
    verdicts = w.last_frame.result.verdicts

    # the maps have the sizes the receptive-field calculator predicts, branch by branch
    d = build_discriminator(D_CFG)
    fields = receptive_fields(d, R)
    labels = d.branch_names(R)
    assert [label for label, _ in verdicts] == labels == [b.label for b in w.model.branches]
    assert labels == ["70 px patches", "global"]
    for (_, probs), field in zip(verdicts, fields, strict=True):
        assert probs.shape == field.output_size
    box = tab.overlay_panel.branch_box
    assert [box.itemText(i) for i in range(box.count())] == [*labels, "all branches (mean)"]

    # the overlay's colour at every cell is its score through the colour map centred on the
    # branch's median; where the colour is opaque the screen shows it as it is
    tab.overlay_panel.opacity_slider.setValue(100)
    for k, ((_, probs), field) in enumerate(zip(verdicts, fields, strict=True)):
        choose_branch(w, k)
        heatmap = overlay.heatmap()
        assert heatmap.width() == heatmap.height() == R
        if field.is_global and field.output_size == (1, 1):  # one score: around "undecided"
            median, spread = 0.5, 0.5
        else:
            median, spread = verdict_scale(pixel_map(probs, field))
        assert overlay.scale == (median, spread)
        assert tab.overlay_panel.legend.caption().count(f"{median:.2f}") == 1
        screen = w.result_view.grab().toImage()
        for i in range(field.output_size[0]):
            for j in range(field.output_size[1]):
                cy, cx = cell_centre(field, i, j)
                r, g, b, a = centred_rgba(np.array(float(probs[i, j])), median, spread)
                assert heatmap.pixelColor(cx, cy) == QColor(int(r), int(g), int(b), int(a))
                if a == 255:
                    shown = screen.pixelColor(view_point(w, cy + 0.5, cx + 0.5))
                    assert abs(shown.red() - r) <= 2
                    assert abs(shown.green() - g) <= 2
                    assert abs(shown.blue() - b) <= 2

    # the global branch shows its single score
    choose_branch(w, 1)
    assert overlay.global_score() == pytest.approx(float(verdicts[1][1][0, 0]))
    legend = w.draw_tab.overlay_panel.legend
    assert overlay.scale == (0.5, 0.5) and "whole picture" in legend.caption()  # not a median
    choose_branch(w, COMBINED)
    assert "median" in legend.caption()
    assert overlay.global_score() is None and overlay.heatmap() is not None


def test_hovering_a_cell_draws_its_receptive_field(make_window, models, qtbot):
    w = make_window(models["full"])
    tab, overlay = w.draw_tab, w.draw_tab.overlay
    draw(w)
    tab.verdicts_action.trigger()
    wait_for(qtbot, w, lambda f: f.result.verdicts is not None)
    probs = w.last_frame.result.verdicts[0][1]
    field = receptive_fields(build_discriminator(D_CFG), R)[0]
    i, j = 1, 0
    cy, cx = cell_centre(field, i, j)
    QTest.mouseMove(w.result_view, view_point(w, cy + 0.5, cx + 0.5))
    qtbot.waitUntil(lambda: bool(overlay.hover_cells))
    (cell,) = overlay.hover_cells
    assert cell.index == (i, j) and cell.window == field.window(i, j)
    assert cell.score == pytest.approx(float(probs[i, j]))
    top, left, bottom, right = cell.window
    scale = w.canvas.side / R  # the canvas is finer than the model
    assert w.canvas.highlights() == [
        QRectF(left * scale, top * scale, (right - left) * scale, (bottom - top) * scale)
    ]
    message = w.statusBar().currentMessage()
    assert "70 px patches" in message and f"{cell.score:.2f}" in message
    assert tab.overlay_panel.legend._marker == pytest.approx(cell.score)

    choose_branch(w, COMBINED)  # every branch's cell under the pointer
    assert [c.branch for c in overlay.hover_cells] == ["70 px patches", "global"]
    assert len(w.canvas.highlights()) == 1  # the global window is the whole image
    assert "mean" in w.statusBar().currentMessage()

    w.result_view.pointerMoved.emit(None)  # the pointer left
    assert overlay.hover_cells == [] and w.canvas.highlights() == []


def test_attention_probe(make_window, models, qtbot):
    w = make_window(models["full"])
    tab, overlay = w.draw_tab, w.draw_tab.overlay
    draw(w)
    assert tab.probe_action.isEnabled() and tab.probe_action.shortcut().toString() == "P"
    tab.probe_action.trigger()
    assert tab.overlay_mode == PROBE and w.probe == (0.5, 0.5) and not w.want_verdicts
    wait_for(qtbot, w, lambda f: f.result.attention is not None)
    levels = tab.overlay_panel.level_box
    assert [levels.itemText(i) for i in range(levels.count())] == [
        "16×16 features",
        "8×8 features",
    ]

    rect = w.result_view.target_rect()
    click = QPoint(int(rect.x() + 0.75 * rect.width()), int(rect.y() + 0.25 * rect.height()))
    QTest.mouseClick(
        w.result_view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, click
    )
    wait_for(qtbot, w, lambda f: f.job.probe is not None and f.job.probe != (0.5, 0.5))
    y, x = w.last_frame.job.probe
    assert y == pytest.approx(0.25, abs=0.01) and x == pytest.approx(0.75, abs=0.01)
    assert overlay.probe == (y, x)
    attention = w.last_frame.result.attention
    assert sorted(attention) == [1, 2]
    for weights in attention.values():
        assert weights.sum() == pytest.approx(1.0, abs=1e-3)
    first = overlay.heatmap()
    assert first is not None and first.width() == R
    levels.setCurrentIndex(1)
    levels.activated.emit(1)
    assert overlay.level == 2 and overlay.heatmap() is not None
    assert overlay.heatmap() != first

    tab.verdicts_action.trigger()  # one overlay at a time
    assert not tab.probe_action.isChecked() and tab.overlay_mode == VERDICTS
    assert w.probe is None and w.want_verdicts


def test_models_without_a_discriminator_or_attention_disable_the_overlays(
    make_window, models, qtbot
):
    w = make_window(models["full"])
    tab = w.draw_tab
    tab.verdicts_action.trigger()
    wait_for(qtbot, w, lambda f: f.result.verdicts is not None)
    with qtbot.waitSignal(w.modelChanged, timeout=10_000):
        w.open_model(models["bare"])
    assert not tab.verdicts_action.isEnabled() and tab.overlay_mode == OFF
    assert "no discriminator" in tab.verdicts_action.toolTip() and not w.want_verdicts
    assert tab.probe_action.isEnabled()
    with qtbot.waitSignal(w.modelChanged, timeout=10_000):
        w.open_model(models["unet"])
    assert not tab.probe_action.isEnabled() and "no self-attention" in tab.probe_action.toolTip()
    wait_for(qtbot, w)
    assert w.last_frame.result.verdicts is None and np.all(w.last_frame.result.image >= 0)


def test_an_overlay_does_not_move_or_shrink_the_picture(make_window, models, qtbot):
    w = make_window(models["full"])
    tab = w.draw_tab
    draw(w)
    wait_for(qtbot, w)
    before = (w.result_view.geometry(), w.result_view.target_rect(), w.canvas.target_rect())
    assert before[1].size() == before[2].size()  # both panes show their picture as large
    for action in (tab.verdicts_action, tab.probe_action, tab.probe_action):
        action.trigger()  # verdicts on, probe on (verdicts off), probe off
        wait_for(qtbot, w)
        qtbot.wait(1)  # let the layout settle
        after = (w.result_view.geometry(), w.result_view.target_rect(), w.canvas.target_rect())
        assert after == before, tab.overlay_mode


def test_the_probe_opacity_slider_sets_the_heat_maps_alpha(make_window, models, qtbot):
    w = make_window(models["full"])
    tab, overlay = w.draw_tab, w.draw_tab.overlay
    draw(w)
    tab.probe_action.trigger()
    wait_for(qtbot, w, lambda f: f.result.attention is not None)
    weights = overlay.weights()
    i, j = np.unravel_index(int(np.argmax(weights)), weights.shape)  # the most attended cell
    top, left, bottom, right = (v for v in (i, j, i + 1, j + 1))
    s = R / weights.shape[0]
    point = view_point(w, (top + bottom) / 2 * s, (left + right) / 2 * s)
    if abs((top + bottom) / 2 * s - R * overlay.probe[0]) < 2 * s:
        point = view_point(w, (top + 0.2) * s, (left + 0.2) * s)  # off the probe's marker

    def shown(percent: int) -> QColor:
        tab.overlay_panel.opacity_slider.setValue(percent)
        assert overlay.opacity == pytest.approx(percent / 100)
        return w.result_view.grab().toImage().pixelColor(point)

    bare, half, full = shown(0), shown(50), shown(100)
    r, g, b, _ = (int(v) for v in weight_rgba(np.array(1.0)))
    assert abs(full.red() - r) <= 3 and abs(full.green() - g) <= 3 and abs(full.blue() - b) <= 3
    for c in ("red", "green", "blue"):  # half way between the picture and the colour
        mid = (getattr(bare, c)() + getattr(full, c)()) / 2
        assert abs(getattr(half, c)() - mid) <= 3
    assert bare != full


def test_each_overlay_keeps_its_own_opacity(qtbot):
    from sketchpad.ui.overlay_panel import PROBE, VERDICTS, OverlayPanel

    panel = OverlayPanel()
    qtbot.addWidget(panel)
    seen = []
    panel.opacityChanged.connect(seen.append)
    panel.set_mode(VERDICTS)
    panel.opacity_slider.setValue(20)
    panel.set_mode(PROBE)  # dimmed verdicts do not make the probe invisible
    assert panel.opacity_slider.value() == 80 and seen[-1] == pytest.approx(0.8)
    panel.opacity_slider.setValue(60)
    panel.set_mode(VERDICTS)
    assert panel.opacity_slider.value() == 20 and seen[-1] == pytest.approx(0.2)
    panel.set_mode(PROBE)
    assert panel.opacity == pytest.approx(0.6)
