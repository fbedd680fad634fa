"""Colour hints in the window: the Colour tool and its palette, the hint layer's undo, clear and
eraser, the hints reaching the engine in the live loop, models without hint inputs, .ora files
and the autosave keeping the hints."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QImage, QKeySequence, QUndoStack
from PySide6.QtTest import QTest

from sketchpad.ui.canvas import BRUSH, COLOUR, ERASER, SketchCanvas
from sketchpad.ui.help import shortcut_rows
from sketchpad.ui.pictures import qimage_to_array
from sketchpad.ui.strokes import HINT_LAYER, INK_LAYER
from tests.window_helpers import FakeEngine, R, RecordingEngine, draw, hint_stroke, settled

SIDE = 128


@pytest.fixture
def canvas(qtbot):
    stack = QUndoStack()
    c = SketchCanvas(stack, side=SIDE)
    c.stack = stack
    c.resize(SIDE + 8, SIDE + 8)
    qtbot.addWidget(c)
    return c


def stroke(c, points, eraser=False):
    first, *rest = points
    c.begin_stroke(QPointF(*first), eraser=eraser)
    for p in rest:
        c.continue_stroke(QPointF(*p))
    c.end_stroke()


def alpha(c) -> np.ndarray:
    return qimage_to_array(c.hints_image())[..., 3]


def ink(c) -> np.ndarray:
    return qimage_to_array(c.image())[..., 0]


def window_with(make_window, engine, show=False):
    return make_window(engine_factory=lambda path, device: engine, model="fake.safetensors",
                       show=show)  # fmt: skip


# -- the canvas's hint layer -------------------------------------------------------------------


def test_a_hint_stroke_is_one_undo_step_on_its_own_layer(canvas):
    canvas.set_hint_colour(QColor(20, 160, 60))
    canvas.set_brush_size(12)
    canvas.set_tool(COLOUR)
    stroke(canvas, [(10, 60), (60, 62), (110, 64)])
    assert canvas.has_hints() and canvas.ink_is_blank() and canvas.stack.count() == 1
    assert canvas.stack.text(0) == "Colour hint"
    r, g, b, a = qimage_to_array(canvas.hints_image())[62, 60]
    assert (r, g, b, a) == (20, 160, 60, 255)  # opaque in the layer, in the hint colour
    drawn = canvas.hints_image()
    canvas.stack.undo()
    assert not canvas.has_hints() and canvas.is_blank()
    canvas.stack.redo()
    assert canvas.hints_image() == drawn


def test_the_eraser_erases_the_last_drawing_tools_layer(canvas):
    stroke(canvas, [(10, 60), (118, 60)])  # ink across
    canvas.set_tool(COLOUR)
    canvas.set_brush_size(20)
    stroke(canvas, [(60, 10), (60, 118)])  # a hint down, crossing the ink
    ink_before, hints_before = ink(canvas).copy(), alpha(canvas).copy()

    canvas.set_tool(ERASER)  # after the Colour tool: the hints
    assert canvas.active_layer == HINT_LAYER
    stroke(canvas, [(60, 20), (60, 100)])
    assert alpha(canvas)[60, 60] == 0 and hints_before[60, 60] == 255
    assert np.array_equal(ink(canvas), ink_before)  # the ink is untouched
    assert canvas.stack.text(canvas.stack.count() - 1) == "Erase hints"

    canvas.set_tool(BRUSH)
    canvas.set_tool(ERASER)  # after the Brush: the ink
    assert canvas.active_layer == INK_LAYER
    hints_now = alpha(canvas).copy()
    stroke(canvas, [(20, 60), (40, 60)])
    assert ink(canvas)[60, 30] == 255 and ink_before[60, 30] == 0
    assert np.array_equal(alpha(canvas), hints_now)

    canvas.set_tool(COLOUR)  # the right button (eraser=True) erases the active layer too
    stroke(canvas, [(60, 104), (60, 112)], eraser=True)
    assert alpha(canvas)[108, 60] == 0 and hints_before[108, 60] == 255


def test_clear_hints_keeps_the_ink_and_clear_clears_both_in_one_step(canvas):
    stroke(canvas, [(10, 60), (118, 60)])
    canvas.set_tool(COLOUR)
    stroke(canvas, [(60, 10), (60, 118)])
    with_both = (canvas.image(), canvas.hints_image())
    canvas.clear_hints()
    assert not canvas.has_hints() and not canvas.ink_is_blank()
    canvas.stack.undo()
    assert (canvas.image(), canvas.hints_image()) == with_both
    index = canvas.stack.index()
    canvas.clear()
    assert canvas.is_blank() and canvas.stack.index() == index + 1
    canvas.stack.undo()
    assert (canvas.image(), canvas.hints_image()) == with_both


def test_hidden_hints_are_not_painted_and_a_hint_stroke_shows_them(canvas, qtbot):
    canvas.show()
    qtbot.waitExposed(canvas)
    canvas.set_hint_colour(QColor(250, 0, 0))
    canvas.set_tool(COLOUR)
    canvas.set_brush_size(30)
    stroke(canvas, [(30, 64), (100, 64)])
    centre = canvas.target_rect().center().toPoint()
    shown = canvas.grab().toImage().pixelColor(centre)
    assert shown.red() > 200 and shown.green() < 150  # translucent red over the paper
    canvas.set_hints_shown(False)
    hidden = canvas.grab().toImage().pixelColor(centre)
    assert hidden.green() > 240  # only the paper
    stroke(canvas, [(30, 20), (40, 20)])
    assert canvas.hints_shown


# -- the window ---------------------------------------------------------------------------------


def test_a_model_without_hint_inputs_greys_the_colour_tool(make_window, qtbot):
    w = window_with(make_window, FakeEngine(0.0))  # a fake with no `takes_hints` at all
    action = w.draw_tab.colour_action
    assert not w.model.takes_hints and not action.isEnabled()
    assert "no colour-hint inputs" in action.toolTip() and "Model" in action.toolTip()
    assert not w.draw_tab.hints.palette.isEnabled()
    w.canvas.set_tool(COLOUR)
    assert w.canvas.tool == BRUSH and w.canvas.active_layer == INK_LAYER


def test_hints_drawn_stay_but_are_not_sent_to_a_model_without_them(make_window, qtbot):
    hinted = RecordingEngine()
    w = window_with(make_window, hinted)
    hint_stroke(w, (200, 30, 30))
    qtbot.waitUntil(lambda: settled(w))
    assert hinted.requests[-1].hints is not None
    plain = RecordingEngine(takes_hints=False)
    w.service._worker._factory = lambda path, device: plain
    with qtbot.waitSignal(w.modelChanged, timeout=5000):
        w.open_model("plain.safetensors")
    qtbot.waitUntil(lambda: settled(w) and bool(plain.requests))
    assert w.canvas.has_hints() and w.canvas.tool == BRUSH  # kept on their layer
    assert all(r.hints is None for r in plain.requests)


def test_hints_reach_the_engine_in_the_live_loop(make_window, qtbot):
    engine = RecordingEngine()
    w = window_with(make_window, engine)
    assert w.draw_tab.colour_action.isEnabled() and w.model.takes_hints
    before = len(engine.requests)
    hint_stroke(w, (200, 30, 30), y=256, x0=100, x1=400)
    qtbot.waitUntil(lambda: settled(w))
    assert len(engine.requests) > before  # the hint stroke asked for pictures, live
    hints = engine.requests[-1].hints
    assert hints.shape == (4, R, R)
    mask = hints[3].numpy()
    row, col = round(260 / 512 * R), round(200 / 512 * R)
    assert mask[row, col] == 1 and mask[2, 2] == 0 and mask[:8].sum() == 0
    colour = hints[:3, row, col].numpy()
    assert colour == pytest.approx(np.array([200, 30, 30]) / 255 * 2 - 1, abs=0.02)
    assert engine.requests[-1].sketch.sum() == 0  # the ink layer stayed blank

    w.draw_tab.hints.show_action.trigger()  # hidden hints are not sent
    qtbot.waitUntil(lambda: settled(w) and engine.requests[-1].hints is None)


def test_alt_click_picks_a_colour_from_the_hints_or_the_picture(make_window, qtbot):
    engine = RecordingEngine()
    w = window_with(make_window, engine, show=True)
    qtbot.waitExposed(w)
    hint_stroke(w, (10, 200, 90), y=100, x0=60, x1=200)
    qtbot.waitUntil(lambda: settled(w))
    w.draw_tab.brush_action.trigger()
    palette = w.draw_tab.hints.palette
    palette.set_colour(QColor(0, 0, 0))
    canvas = w.canvas
    rect, scale = canvas.target_rect(), canvas.target_rect().width() / canvas.side

    def at(x, y):
        return QPoint(round(rect.x() + x * scale), round(rect.y() + y * scale))

    QTest.mouseClick(
        canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.AltModifier, at(62, 102)
    )
    assert palette.colour == QColor(10, 200, 90) and canvas.tool == COLOUR
    assert "from the hints" in w.status.currentMessage()
    assert canvas.is_blank() is False and canvas.ink_is_blank()  # the click drew nothing

    shown = w.result_view.image().pixelColor(R // 2, R - 2)
    QTest.mouseClick(
        canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.AltModifier, at(256, 500)
    )
    assert palette.colour == shown and "from the picture" in w.status.currentMessage()
    assert shown in palette.recent()


def test_the_palette_remembers_recent_colours(make_window, qtbot):
    engine = RecordingEngine()
    w = window_with(make_window, engine)
    palette = w.draw_tab.hints.palette
    assert len(palette.swatches) == 8 and len(palette.recent()) == 8
    palette.ask_colour = lambda initial: QColor(1, 2, 3)
    palette.colour_button.click()
    assert palette.colour == QColor(1, 2, 3) and w.canvas.hint_colour == QColor(1, 2, 3)
    palette.swatches[3].click()
    fourth, row = palette.recent()[3], palette.recent()
    w.close()
    again = window_with(make_window, RecordingEngine())
    assert again.draw_tab.hints.palette.recent() == row  # the same row, in the same order
    assert QColor(1, 2, 3) in row and again.draw_tab.hints.palette.colour == fourth
    assert again.canvas.hint_colour == fourth


def test_f1_lists_the_colour_tool_and_the_variations_shortcuts(make_window):
    w = make_window()
    rows = dict(shortcut_rows(w))
    native = QKeySequence.SequenceFormat.NativeText
    assert rows["Colour hints"] == "H" and rows["New variations"] == QKeySequence(
        "Ctrl+R"
    ).toString(native)
    assert "Show hints" in rows and "Clear hints" in rows


# -- files -------------------------------------------------------------------------------------


def test_a_hinted_sketch_saves_as_ora_and_opens_identical(make_window, qtbot, tmp_path):
    engine = RecordingEngine()
    w = window_with(make_window, engine)
    draw(w, y=300)
    hint_stroke(w, (200, 30, 30))
    asked = []

    def ask(title, suggested, name_filter):
        asked.append((suggested, name_filter))
        return str(tmp_path / "mine")  # no suffix: a hinted sketch becomes .ora

    w.ask_save_path = ask
    assert w.document.save()
    ((suggested, name_filter),) = asked
    assert suggested == "sketch.ora" and name_filter.startswith("OpenRaster")
    assert "*.png" in name_filter and (tmp_path / "mine.ora").is_file()
    assert w.undo_stack.isClean()
    ink_layer, hints_layer = w.canvas.image(), w.canvas.hints_image()

    other = window_with(make_window, RecordingEngine())
    assert other.document.open(tmp_path / "mine.ora")
    assert "with its colour hints" in other.status.currentMessage()
    assert other.canvas.image() == ink_layer
    assert np.array_equal(qimage_to_array(other.canvas.hints_image()),
                          qimage_to_array(hints_layer))  # fmt: skip
    qtbot.waitUntil(lambda: settled(other) and engine is not None)
    other.undo_action.trigger()  # one step brings back the blank sheet
    assert other.canvas.is_blank()


def test_a_png_never_silently_drops_the_hints(make_window, tmp_path):
    w = window_with(make_window, RecordingEngine())
    draw(w)
    w.ask_save_path = lambda title, suggested, name_filter: str(tmp_path / "lines.png")
    assert w.document.save() and w.document.path.suffix == ".png"
    hint_stroke(w, (30, 30, 200))
    asked = []
    w.ask_save_path = lambda title, suggested, name_filter: (
        asked.append(suggested) or str(tmp_path / "lines.png")
    )
    assert w.document.save()  # Save asks again, offering the .ora...
    assert asked == ["lines.ora"]
    assert "ink only" in w.status.currentMessage()  # ...and a PNG chosen anyway says so
    assert not w.undo_stack.isClean() and w.document.is_unsaved()


def test_a_bad_ora_says_why_and_loses_nothing(make_window, tmp_path):
    w = window_with(make_window, RecordingEngine())
    draw(w)
    hint_stroke(w, (30, 30, 200))
    before = (w.canvas.image(), w.canvas.hints_image(), w.undo_stack.count())
    bad = tmp_path / "bad.ora"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    assert not w.document.open(bad)
    title, text = w.errors[-1]
    assert title == "Cannot open sketch" and "bad.ora" in text and "not a zip" in text
    assert (w.canvas.image(), w.canvas.hints_image(), w.undo_stack.count()) == before


def test_an_ora_dropped_on_the_canvas_opens(make_window, tmp_path):
    from PySide6.QtCore import QMimeData, QUrl
    from PySide6.QtGui import QDropEvent

    w = window_with(make_window, RecordingEngine())
    hint_stroke(w, (30, 30, 200))
    w.ask_save_path = lambda title, suggested, name_filter: str(tmp_path / "s.ora")
    assert w.document.save()
    hints = w.canvas.hints_image()
    w.canvas.clear()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "s.ora"))])
    event = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)  # fmt: skip
    w.canvas.dragEnterEvent(event)
    assert event.isAccepted()
    w.canvas.dropEvent(event)
    assert w.canvas.hints_image() == hints


def autosaved_with_hints(make_window, qtbot):
    """(engine, window, autosave path, its hints file) once a sketch with hints is autosaved."""
    engine = RecordingEngine()
    first = window_with(make_window, engine)
    draw(first)
    hint_stroke(first, (200, 120, 10))
    path = first.document.autosave_path
    hints_file = path.with_name(path.stem + ".hints.png")
    qtbot.waitUntil(hints_file.exists)
    return engine, first, path, hints_file


def test_the_autosave_keeps_the_hints(make_window, qtbot):
    engine, first, path, hints_file = autosaved_with_hints(make_window, qtbot)
    ink_layer, hints_layer = first.canvas.image(), first.canvas.hints_image()
    second = make_window(engine_factory=lambda path, device: engine)  # after a "crash"
    second.ask_restore = lambda stopped: True
    assert second.offer_restore()
    assert second.canvas.image() == ink_layer
    assert np.array_equal(qimage_to_array(second.canvas.hints_image()),
                          qimage_to_array(hints_layer))  # fmt: skip
    second.canvas.clear_hints()  # the autosave follows: no hints, no hints file
    qtbot.waitUntil(lambda: not hints_file.exists())
    second.close()
    assert not path.exists()


def test_restore_with_a_damaged_hints_file_keeps_the_ink(make_window, qtbot):
    engine, first, path, hints_file = autosaved_with_hints(make_window, qtbot)
    hints_file.write_bytes(b"torn")
    second = make_window(engine_factory=lambda path, device: engine)
    second.ask_restore = lambda stopped: True
    assert second.offer_restore()
    assert second.canvas.image() == first.canvas.image() and not second.canvas.has_hints()


def test_blank_sketch_images_are_plain(canvas):
    assert canvas.image().format() == QImage.Format.Format_RGB32
    assert canvas.hints_image().format() == QImage.Format.Format_ARGB32


def test_the_eraser_says_which_layer_it_erases(make_window):
    w = window_with(make_window, RecordingEngine())
    tab = w.draw_tab
    tab.colour_action.trigger()
    tab.eraser_action.trigger()
    assert "erases the colour hints" in tab.eraser_action.toolTip()
    assert w.status.currentMessage().startswith("Eraser: erases the colour hints")
    tab.brush_action.trigger()
    tab.eraser_action.trigger()
    assert "erases the ink" in tab.eraser_action.toolTip()
    assert w.status.currentMessage().startswith("Eraser: erases the ink")
