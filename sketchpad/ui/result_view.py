"""The generated picture, shown square and as large as fits beside the canvas.

Overlays (the discriminator's verdicts, the attention probe) are drawn on top by whoever
extends this view; `target_rect()` says where the picture lies in widget coordinates.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QImage, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget


class ResultView(QWidget):
    firstImagePainted = Signal()
    """Emitted once, the first time a generated picture reaches the screen."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        self._message = ""
        self._painted_once = False
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 160)

    def image(self) -> QImage | None:
        return self._image

    def set_image(self, image: QImage | None) -> None:
        self._image = image
        self.update()

    def message(self) -> str:
        return self._message

    def set_message(self, text: str) -> None:
        """A line shown over the view (e.g. "No model loaded…"); empty to hide it."""
        self._message = text
        self.update()

    def target_rect(self) -> QRectF:
        side = max(1.0, min(self.width(), self.height()) - 8.0)
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def sizeHint(self) -> QSize:
        return QSize(520, 520)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window())
        rect = self.target_rect()
        if self._image is not None:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawImage(rect, self._image)
        else:
            painter.fillRect(rect, self.palette().base())
        painter.setPen(QPen(self.palette().mid().color(), 1))
        painter.drawRect(rect.adjusted(-0.5, -0.5, 0.5, 0.5))
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
