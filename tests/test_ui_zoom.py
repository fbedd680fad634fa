"""Zoom and pan: Ctrl+wheel about the pointer, space- and middle-drag, Ctrl+0; strokes land in
sketch coordinates at any zoom, and the result view shows the same part as the canvas."""

import pytest
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QKeySequence, QUndoStack, QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from sketchpad.ui.canvas import SketchCanvas
from sketchpad.ui.draw_tab import DrawTab
from sketchpad.ui.view_transform import MAX_ZOOM, ViewTransform

SIDE = 128
CTRL = Qt.KeyboardModifier.ControlModifier
NONE = Qt.KeyboardModifier.NoModifier


@pytest.fixture
def canvas(qtbot):
    stack = QUndoStack()
    c = SketchCanvas(stack, side=SIDE)
    c.stack = stack  # keep the stack alive as long as the canvas
    c.resize(2 * SIDE + 16, 2 * SIDE + 16)  # two widget pixels per canvas pixel at fit
    qtbot.addWidget(c)
    c.show()
    qtbot.waitExposed(c)
    return c


@pytest.fixture
def tab(qtbot):
    stack = QUndoStack()
    t = DrawTab(stack)
    t.stack = stack
    t.resize(900, 520)
    qtbot.addWidget(t)
    t.show()
    qtbot.waitExposed(t)
    return t


def wheel(widget, pos: QPointF, notches: float, modifiers=CTRL) -> None:
    event = QWheelEvent(
        pos,
        widget.mapToGlobal(pos),
        QPoint(0, 0),
        QPoint(0, round(120 * notches)),
        Qt.MouseButton.NoButton,
        modifiers,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


def sketch_point(c: SketchCanvas, pos: QPointF) -> QPointF:
    rect = c.target_rect()
    return QPointF(
        (pos.x() - rect.x()) * c.side / rect.width(), (pos.y() - rect.y()) * c.side / rect.height()
    )


def test_zooming_about_a_point_keeps_that_point_still():
    view = ViewTransform()
    fit = QRectF(8, 8, 400, 400)
    for pos, factor in (
        (QPointF(100, 300), 2.0),
        (QPointF(350, 40), 1.7),
        (QPointF(200, 210), 0.6),
    ):
        before = view.picture_rect(fit)
        fx, fy = (pos.x() - before.x()) / before.width(), (pos.y() - before.y()) / before.height()
        view.zoom_at(fit, pos, factor)
        after = view.picture_rect(fit)
        assert after.x() + fx * after.width() == pytest.approx(pos.x())
        assert after.y() + fy * after.height() == pytest.approx(pos.y())


def test_zoom_and_pan_stay_within_limits():
    view = ViewTransform()
    fit = QRectF(0, 0, 300, 300)
    view.zoom_at(fit, QPointF(150, 150), 0.5)
    assert view.zoom == 1.0 and view.picture_rect(fit) == fit  # never smaller than fit
    view.zoom_at(fit, QPointF(150, 150), 100)
    assert view.zoom == MAX_ZOOM
    view.pan(fit, QPointF(1e6, -1e6))  # as far as it goes: the picture still covers the square
    rect = view.picture_rect(fit)
    assert rect.contains(fit) and rect.left() == pytest.approx(0) and rect.bottom() == 300
    view.fit()
    assert view.zoom == 1.0 and view.picture_rect(fit) == fit


def test_ctrl_wheel_zooms_the_canvas_about_the_pointer(canvas):
    pos = QPointF(70, 180)
    under = sketch_point(canvas, pos)
    wheel(canvas, pos, 3)
    assert canvas.view.zoom == pytest.approx(1.25**3)
    after = sketch_point(canvas, pos)
    assert after.x() == pytest.approx(under.x()) and after.y() == pytest.approx(under.y())
    wheel(canvas, pos, 3, modifiers=NONE)  # a plain wheel does not zoom
    assert canvas.view.zoom == pytest.approx(1.25**3)


def test_a_stroke_drawn_zoomed_lands_where_it_is_seen(canvas):
    canvas.view.set_view(4.0, QPointF(0.25, 0.75))  # the lower left quarter, enlarged
    canvas.set_brush_size(4)
    start, end = QPoint(60, 130), QPoint(200, 130)
    a, b = sketch_point(canvas, QPointF(start)), sketch_point(canvas, QPointF(end))
    assert 0 < a.x() < b.x() < SIDE / 2 < a.y() < SIDE  # inside the quarter shown
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, NONE, start)
    for k in range(1, 11):
        QTest.mouseMove(canvas, start + (end - start) * k / 10)
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, NONE, end)
    image = canvas.image()
    assert image.size().width() == SIDE  # the sketch keeps its size
    y = round(a.y())
    for x in range(round(a.x()) + 1, round(b.x())):
        assert image.pixelColor(x, y).red() < 128, x  # ink along the line, in sketch pixels
    assert image.pixelColor(round(a.x()), y - 6).red() == 255  # the pen is 4 px wide, not 16
    ink = [(x, y) for y in range(SIDE) for x in range(SIDE) if image.pixelColor(x, y).red() < 128]
    assert all(abs(py - a.y()) <= 3 for _, py in ink)


def test_middle_drag_and_space_drag_pan_without_drawing(canvas, qtbot):
    canvas.view.set_view(2.0, QPointF(0.5, 0.5))
    start = canvas.view.centre
    QTest.mouseMove(canvas, QPoint(100, 100))
    assert canvas._hover == QPointF(100, 100)  # the brush outline follows the pointer
    QTest.mousePress(canvas, Qt.MouseButton.MiddleButton, NONE, QPoint(100, 100))
    QTest.mouseMove(canvas, QPoint(140, 100))
    QTest.mouseRelease(canvas, Qt.MouseButton.MiddleButton, NONE, QPoint(140, 100))
    moved = canvas.view.centre
    assert canvas._hover is None  # not left behind where the pan started
    assert moved.x() < start.x() and moved.y() == start.y()  # dragged right: see further left

    canvas.setFocus()
    QTest.keyPress(canvas, Qt.Key.Key_Space)
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, NONE, QPoint(100, 100))
    QTest.mouseMove(canvas, QPoint(100, 60))
    QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, NONE, QPoint(100, 60))
    QTest.keyRelease(canvas, Qt.Key.Key_Space)
    assert canvas.view.centre.y() > moved.y()  # dragged up: see further down
    assert canvas.is_blank() and canvas.stack.count() == 0  # no stroke


def test_the_result_view_follows_the_canvas(tab):
    canvas, result = tab.canvas, tab.result_view
    assert canvas.fit_rect().size() == result.fit_rect().size()
    pos = canvas.fit_rect().topLeft() + QPointF(120, 90)
    wheel(canvas, pos, 4)
    tab.view.pan(canvas.fit_rect(), QPointF(-30, 10))
    assert result.view is canvas.view and result.view.zoom > 1
    c, r = canvas.target_rect(), result.target_rect()
    assert c.size() == r.size()
    assert c.topLeft() - canvas.fit_rect().topLeft() == r.topLeft() - result.fit_rect().topLeft()
    # the same spot of the picture under the same place in each pane
    spot = sketch_point(canvas, pos)
    cf, rf = canvas.fit_rect(), result.fit_rect()
    where = result.fractions(rf.topLeft() + (pos - cf.topLeft()) * (rf.width() / cf.width()))
    assert where[1] == pytest.approx(spot.x() / canvas.side)
    assert where[0] == pytest.approx(spot.y() / canvas.side)
    # zooming on the result moves the canvas too
    wheel(result, result.fit_rect().center(), -1)
    assert canvas.target_rect() != c and canvas.target_rect().size() == result.target_rect().size()


def test_ctrl_0_fits_and_is_a_window_shortcut(tab, qtbot):
    action = tab.fit_action
    assert action.text() == "Fit to window" and action in tab.actions()
    assert action.shortcut() == QKeySequence("Ctrl+0")
    assert action.shortcutContext() == Qt.ShortcutContext.WindowShortcut
    assert not action.isEnabled()  # nothing to fit yet
    tab.zoom_in_action.trigger()
    assert tab.view.zoom > 1 and action.isEnabled() and "%" in tab.zoom_label.text()
    tab.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is tab)
    QTest.keyClick(tab.canvas, Qt.Key.Key_0, CTRL)
    assert tab.view.zoom == 1.0 and tab.canvas.target_rect() == tab.canvas.fit_rect()
    assert tab.result_view.target_rect() == tab.result_view.fit_rect()
