"""The canvas: strokes from the mouse and a tablet, the eraser, brush sizes, exact undo/redo."""

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QInputDevice, QPointingDevice, QTabletEvent, QUndoStack
from PySide6.QtTest import QTest

from sketchpad.ui.canvas import BRUSH, ERASER, SketchCanvas, blank_sketch

SIDE = 128


@pytest.fixture
def canvas(qtbot):
    stack = QUndoStack()
    c = SketchCanvas(stack, side=SIDE)
    c.stack = stack  # keep the stack alive as long as the canvas
    c.resize(SIDE + 8, SIDE + 8)  # one widget pixel per canvas pixel
    qtbot.addWidget(c)
    c.show()
    qtbot.waitExposed(c)
    return c


def stroke(c: SketchCanvas, points, pressure=1.0, eraser=False):
    first, *rest = points
    c.begin_stroke(QPointF(*first), pressure, eraser=eraser)
    for p in rest:
        c.continue_stroke(QPointF(*p), pressure)
    c.end_stroke()


def ink_pixels(c: SketchCanvas) -> int:
    img = c.image()
    return sum(
        1 for y in range(0, SIDE, 2) for x in range(0, SIDE, 2) if img.pixelColor(x, y).red() < 128
    )


def test_mouse_stroke_draws_antialiased_ink_and_is_one_command(canvas, qtbot):
    changes = []
    canvas.sketchChanged.connect(lambda: changes.append(canvas.is_drawing))
    offset = canvas.target_rect().topLeft().toPoint()
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, pos=offset + QPoint(20, 20))
    for x in range(24, 100, 6):
        QTest.mouseMove(canvas, offset + QPoint(x, 20 + x // 3))
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=offset + QPoint(100, 53))
    assert not canvas.is_blank() and ink_pixels(canvas) > 10
    assert canvas.stack.count() == 1
    assert changes.count(True) >= 5  # the picture changed while the button was still down
    grey = {canvas.image().pixelColor(x, y).red() for x in range(SIDE) for y in range(10, 70)}
    assert any(0 < g < 255 for g in grey)  # antialiased edges


def test_undo_and_redo_restore_the_exact_canvas(canvas):
    states = [canvas.image()]
    stroke(canvas, [(10, 10), (60, 40), (100, 100)])
    states.append(canvas.image())
    stroke(canvas, [(10, 100), (60, 60), (110, 20)])
    states.append(canvas.image())
    stroke(canvas, [(0, 64), (128, 64)], eraser=True)
    states.append(canvas.image())
    assert canvas.stack.count() == 3 and states[2] != states[3]
    for i in (2, 1, 0):
        canvas.stack.undo()
        assert canvas.image() == states[i]
    for i in (1, 2, 3):
        canvas.stack.redo()
        assert canvas.image() == states[i]


def test_eraser_tool_removes_ink(canvas):
    stroke(canvas, [(20, 64), (108, 64)])
    before = ink_pixels(canvas)
    canvas.set_tool(ERASER)
    stroke(canvas, [(64, 10), (64, 118)])
    assert 0 < ink_pixels(canvas) < before
    canvas.set_tool(BRUSH)


def test_clear_is_undoable(canvas):
    stroke(canvas, [(20, 20), (100, 100)])
    drawn = canvas.image()
    canvas.clear()
    assert canvas.is_blank()
    canvas.stack.undo()
    assert canvas.image() == drawn


def test_replace_image_scales_to_the_canvas(canvas):
    big = blank_sketch(300)
    big.setPixelColor(150, 150, Qt.GlobalColor.black)
    canvas.replace_image(big, "Open")
    assert canvas.image().size() == blank_sketch(SIDE).size()
    canvas.stack.undo()
    assert canvas.is_blank()


def test_brush_size_steps_and_limits(canvas):
    canvas.set_brush_size(10)
    canvas.grow_brush(1)
    assert canvas.brush_size == 12
    canvas.grow_brush(-2)
    assert canvas.brush_size < 10
    canvas.set_brush_size(6)
    for _ in range(6):
        canvas.grow_brush(1)
    assert canvas.brush_size > 12
    for _ in range(6):
        canvas.grow_brush(-1)
    assert canvas.brush_size == 6  # as many steps down as up come back
    canvas.set_brush_size(8)  # between two rungs (7 and 9): up and down take the neighbours
    canvas.grow_brush(1)
    assert canvas.brush_size == 9
    canvas.set_brush_size(8)
    canvas.grow_brush(-1)
    assert canvas.brush_size == 7
    canvas.set_brush_size(10_000)
    assert canvas.brush_size == 96
    canvas.set_brush_size(0)
    assert canvas.brush_size == 1


def _tablet(canvas, kind, pos, pressure, pointer=QPointingDevice.PointerType.Pen):
    device = QPointingDevice(
        "stylus",
        7,
        QInputDevice.DeviceType.Stylus,
        pointer,
        QInputDevice.Capability.Position | QInputDevice.Capability.Pressure,
        1,
        3,
    )
    global_pos = QPointF(canvas.mapToGlobal(pos.toPoint()))
    event = QTabletEvent(
        kind, device, pos, global_pos, pressure, 0, 0, 0, 0, 0,
        Qt.KeyboardModifier.NoModifier, Qt.MouseButton.LeftButton, Qt.MouseButton.LeftButton,
    )  # fmt: skip
    canvas.tabletEvent(event)
    assert event.isAccepted()


def _tablet_stroke(canvas, y, pressure, pointer=QPointingDevice.PointerType.Pen):
    offset = canvas.target_rect().topLeft()
    _tablet(canvas, QEvent.Type.TabletPress, offset + QPointF(20, y), pressure, pointer)
    for x in range(30, 110, 10):
        _tablet(canvas, QEvent.Type.TabletMove, offset + QPointF(x, y), pressure, pointer)
    _tablet(canvas, QEvent.Type.TabletRelease, offset + QPointF(108, y), pressure, pointer)


def test_tablet_pressure_sets_the_width_and_the_eraser_end_erases(canvas):
    canvas.set_brush_size(16)
    _tablet_stroke(canvas, 30, 0.1)
    light = ink_pixels(canvas)
    _tablet_stroke(canvas, 90, 1.0)
    heavy = ink_pixels(canvas) - light
    assert heavy > 2 * light > 0
    _tablet_stroke(canvas, 90, 1.0, QPointingDevice.PointerType.Eraser)
    assert ink_pixels(canvas) <= light + 2
    assert canvas.tool == BRUSH and canvas.stack.count() == 3


def paper_marks(c: SketchCanvas) -> int:
    """Non-white widget pixels in the middle of the paper, where the hint is."""
    shot = c.grab().toImage()
    fit = c.fit_rect().toAlignedRect()
    fit = fit.adjusted(fit.width() // 8, fit.height() // 4, -fit.width() // 8, -fit.height() // 4)
    return sum(
        1
        for y in range(fit.top(), fit.bottom(), 2)
        for x in range(fit.left(), fit.right(), 2)
        if shot.pixelColor(x, y).lightness() < 250
    )


def test_an_empty_canvas_shows_a_hint_until_the_first_stroke(qtbot):
    stack = QUndoStack()
    c = SketchCanvas(stack, side=SIDE)
    c.resize(420, 420)  # room for the hint's text
    qtbot.addWidget(c)
    c.show()
    qtbot.waitExposed(c)
    assert c.showing_hint and paper_marks(c) > 50  # the hint is on the paper
    c.begin_stroke(QPointF(4, 4))
    assert not c.showing_hint  # gone at the first touch
    c.continue_stroke(QPointF(10, 4))
    c.end_stroke()
    assert not c.showing_hint
    assert paper_marks(c) == 0  # the stroke is in the corner, the hint is gone
    stack.undo()  # empty again: the hint is back
    assert c.showing_hint and paper_marks(c) > 50
    stack.redo()
    assert not c.showing_hint and paper_marks(c) == 0
    c.clear()
    assert c.showing_hint and paper_marks(c) > 50
