"""The generated picture, shown square and as large as fits beside the canvas.

Overlays (the discriminator's verdicts, the attention probe) are drawn on top by an overlay
object (`set_overlay`, see `sketchpad.ui.overlay`); `target_rect()` says where the picture lies
in widget coordinates (at the zoom and pan of the `ViewTransform` it shares with the canvas;
only the part inside `fit_rect()` is shown). The view reports where the pointer is and where it
was clicked, as (y, x) fractions of the picture.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from sketchpad.ui.pictures import fitted_square
from sketchpad.ui.view_transform import ViewNavigator, ViewTransform


class Overlay(Protocol):
    def paint(self, painter: QPainter, rect: QRectF, visible: QRectF) -> None:
        """Draw over the picture lying in `rect`, of which `visible` is shown."""


class ResultView(QWidget):
    firstImagePainted = Signal()
    """Emitted once, the first time a generated picture reaches the screen."""
    pointerMoved = Signal(object)
    """(y, x) fractions of the picture under the pointer, or None when it is off the picture."""
    clicked = Signal(object)
    """(y, x) fractions of the picture where the left button was pressed."""
    picked = Signal(object)
    """(y, x) fractions of the picture where it was Alt-clicked (to pick its colour)."""

    def __init__(self, parent: QWidget | None = None, view: ViewTransform | None = None) -> None:
        super().__init__(parent)
        self.view = view if view is not None else ViewTransform(self)
        self.view.changed.connect(self.update)
        self.navigator = ViewNavigator(self, self.view, self.fit_rect)
        self._image: QImage | None = None
        self._message = ""
        self._painted_once = False
        self._overlay: Overlay | None = None
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 160)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # space-drag needs the keys

    def image(self) -> QImage | None:
        return self._image

    def set_image(self, image: QImage | None) -> None:
        self._image = image
        self.update()

    def set_overlay(self, overlay: Overlay | None) -> None:
        """Something that paints over the picture (after it, in the picture's rectangle)."""
        self._overlay = overlay
        self.update()

    def message(self) -> str:
        return self._message

    def set_message(self, text: str) -> None:
        """A line shown over the view (e.g. "No model loaded…"); empty to hide it."""
        self._message = text
        self.update()

    def fit_rect(self) -> QRectF:
        """The square the picture is shown in: as large as fits, centred."""
        return fitted_square(self.width(), self.height())

    def target_rect(self) -> QRectF:
        """Where the whole picture lies in widget coordinates at the current zoom."""
        return self.view.picture_rect(self.fit_rect())

    def fractions(self, pos: QPointF) -> tuple[float, float] | None:
        """(y, x) picture fractions in [0, 1) of a widget position, None when off the shown
        part of the picture."""
        if not self.fit_rect().contains(pos):
            return None
        rect = self.target_rect()
        y = (pos.y() - rect.y()) / rect.height()
        x = (pos.x() - rect.x()) / rect.width()
        return (y, x) if 0 <= y < 1 and 0 <= x < 1 else None

    def colour_at(self, where: tuple[float, float]) -> QColor | None:
        """The picture's colour at (y, x) fractions (None: no picture, or off it)."""
        y, x = where
        if self._image is None or not (0 <= y < 1 and 0 <= x < 1):
            return None
        colour = self._image.pixelColor(int(x * self._image.width()), int(y * self._image.height()))
        colour.setAlpha(255)
        return colour

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self.pointerMoved.emit(
            self.fractions(event.position()) if self._image is not None else None
        )

    def mousePressEvent(self, event: QMouseEvent) -> None:
        where = self.fractions(event.position())
        if (
            event.button() == Qt.MouseButton.LeftButton
            and where is not None
            and self._image is not None
        ):
            if event.modifiers() & Qt.KeyboardModifier.AltModifier:
                self.picked.emit(where)
            else:
                self.clicked.emit(where)
        else:
            super().mousePressEvent(event)

    def leaveEvent(self, event) -> None:
        self.pointerMoved.emit(None)
        super().leaveEvent(event)

    def sizeHint(self) -> QSize:
        return QSize(520, 520)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window())
        fit, rect = self.fit_rect(), self.target_rect()
        painter.setPen(QPen(self.palette().mid().color(), 1))
        painter.drawRect(fit.adjusted(-0.5, -0.5, 0.5, 0.5))
        if self._image is not None:
            painter.save()
            painter.setClipRect(fit)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(rect, self._image)
            if self._overlay is not None:
                self._overlay.paint(painter, rect, fit)
            painter.restore()
        else:
            painter.fillRect(fit, self.palette().base())
        rect = fit
        if self._message:
            painter.setPen(self.palette().text().color())
            box = rect.adjusted(24, 24, -24, -24)
            flags = Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap
            if self._image is not None:
                shade = box.adjusted(0, box.height() / 2 - 40, 0, -box.height() / 2 + 40)
                painter.fillRect(shade, self.palette().base())
                box = shade
            painter.drawText(box, int(flags), self._message)
        painter.end()
        if self._image is not None and not self._painted_once:
            self._painted_once = True
            self.firstImagePainted.emit()
