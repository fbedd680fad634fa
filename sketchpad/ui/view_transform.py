"""Zoom and pan shared by the canvas and the result view.

A `ViewTransform` holds a zoom factor (1 = the picture fits its widget) and the picture point
shown at the centre of the fitted square, as fractions of the picture. Each view turns it into
the rectangle where it draws the picture, from its own fitted square, so both panes show the
same part of the picture at the same place even when they differ in size by a few pixels.
The picture always covers the fitted square: it cannot be panned out of view.

`ViewNavigator` turns a widget's wheel, middle-drag and space-drag events into changes of a
transform; the canvas and the result view each own one.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QCursor, QKeyEvent, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QWidget

MIN_ZOOM, MAX_ZOOM = 1.0, 8.0
WHEEL_STEP = 1.25
"""Zoom factor per wheel notch (120 eighths of a degree)."""


class ViewTransform(QObject):
    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._zoom = 1.0
        self._centre = QPointF(0.5, 0.5)

    @property
    def zoom(self) -> float:
        return self._zoom

    @property
    def centre(self) -> QPointF:
        """The picture point (fractions) at the centre of the fitted square."""
        return QPointF(self._centre)

    def is_fit(self) -> bool:
        return self._zoom == 1.0

    def picture_rect(self, fit: QRectF) -> QRectF:
        """Where the picture is drawn in a view whose fitted square is `fit`."""
        side = fit.width() * self._zoom
        c = fit.center()
        return QRectF(c.x() - self._centre.x() * side, c.y() - self._centre.y() * side, side, side)

    def set_view(self, zoom: float, centre: QPointF) -> None:
        """Zoom (clamped to [MIN_ZOOM, MAX_ZOOM]) centred on `centre` (clamped so that the
        picture covers the fitted square)."""
        zoom = max(MIN_ZOOM, min(MAX_ZOOM, float(zoom)))
        half = 0.5 / zoom
        centre = QPointF(max(half, min(1 - half, centre.x())), max(half, min(1 - half, centre.y())))
        if zoom != self._zoom or centre != self._centre:
            self._zoom, self._centre = zoom, centre
            self.changed.emit()

    def fit(self) -> None:
        self.set_view(1.0, QPointF(0.5, 0.5))

    def zoom_at(self, fit: QRectF, pos: QPointF, factor: float) -> None:
        """Multiply the zoom by `factor`, keeping the picture point under widget position
        `pos` where it is (unless that would show beyond the picture's edge)."""
        rect = self.picture_rect(fit)
        fx = (pos.x() - rect.x()) / rect.width()
        fy = (pos.y() - rect.y()) / rect.height()
        zoom = max(MIN_ZOOM, min(MAX_ZOOM, self._zoom * factor))
        side = fit.width() * zoom
        c = fit.center()
        self.set_view(zoom, QPointF(fx + (c.x() - pos.x()) / side, fy + (c.y() - pos.y()) / side))

    def pan(self, fit: QRectF, delta: QPointF) -> None:
        """Move the picture by `delta` widget pixels."""
        side = fit.width() * self._zoom
        self.set_view(
            self._zoom,
            QPointF(self._centre.x() - delta.x() / side, self._centre.y() - delta.y() / side),
        )


class ViewNavigator(QObject):
    """Ctrl+wheel zooms about the pointer; the middle button, or the left one while space is
    held, drags the picture. It filters the widget's events, so the widget sees only those it
    does not use (a drag that pans never reaches the widget as a stroke or a click)."""

    def __init__(
        self, widget: QWidget, transform: ViewTransform, fit_rect: Callable[[], QRectF]
    ) -> None:
        super().__init__(widget)
        self._widget = widget
        self.transform = transform
        self._fit_rect = fit_rect
        self._space = False
        self._drag_from: QPointF | None = None
        self._rest_cursor: QCursor | None = None
        widget.installEventFilter(self)

    @property
    def panning(self) -> bool:
        return self._drag_from is not None

    @property
    def space_held(self) -> bool:
        return self._space

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is not self._widget:
            return False
        if event.type() == QEvent.Type.FocusOut and self._space:
            self._space = False  # a space released elsewhere must not leave it panning
            self._update_cursor()
        return self.handle(event)

    def handle(self, event: QEvent) -> bool:
        """Use `event` if it zooms or pans; say whether it did."""
        kind = event.type()
        if kind == QEvent.Type.Wheel:
            return self._wheel(event)  # type: ignore[arg-type]
        if kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            return self._key(event)  # type: ignore[arg-type]
        if kind == QEvent.Type.MouseButtonPress:
            return self._press(event)  # type: ignore[arg-type]
        if kind == QEvent.Type.MouseMove and self._drag_from is not None:
            pos = event.position()  # type: ignore[attr-defined]
            self.transform.pan(self._fit_rect(), pos - self._drag_from)
            self._drag_from = pos
            return True
        if kind == QEvent.Type.MouseButtonRelease and self._drag_from is not None:
            self._drag_from = None
            self._update_cursor()
            return True
        return False

    def _wheel(self, event: QWheelEvent) -> bool:
        if not event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            return False
        notches = event.angleDelta().y() / 120
        if notches:
            self.transform.zoom_at(self._fit_rect(), event.position(), WHEEL_STEP**notches)
        event.accept()
        return True

    def _key(self, event: QKeyEvent) -> bool:
        if event.key() != Qt.Key.Key_Space or event.isAutoRepeat():
            return event.key() == Qt.Key.Key_Space
        self._space = event.type() == QEvent.Type.KeyPress
        self._update_cursor()
        return True

    def _press(self, event: QMouseEvent) -> bool:
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (
            button == Qt.MouseButton.LeftButton and self._space
        ):
            self._drag_from = event.position()
            self._update_cursor()
            return True
        return False

    def _update_cursor(self) -> None:
        """A hand while panning or ready to; the widget's own cursor back afterwards."""
        if self._drag_from is None and not self._space:
            if self._rest_cursor is not None:
                self._widget.setCursor(self._rest_cursor)
                self._rest_cursor = None
            return
        if self._rest_cursor is None:
            self._rest_cursor = self._widget.cursor()
        closed = self._drag_from is not None
        hand = Qt.CursorShape.ClosedHandCursor if closed else Qt.CursorShape.OpenHandCursor
        self._widget.setCursor(hand)
