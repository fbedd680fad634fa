"""The canvas's two layers and the strokes drawn on them.

The ink layer is black lines on white paper (RGB); the hint layer is colour dabs on
transparency (ARGB, not premultiplied, so a saved and reopened layer keeps its exact pixels),
opaque where a colour is asked for; the canvas shows it translucent over the ink. A `Stroke`
paints one pointer stroke on one layer: quadratic curves through the midpoints of the
samples, antialiased, its width set by the pressure; the eraser paints paper on the ink and
clears the hints.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QPointF, QRect, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen

INK_LAYER = "ink"
HINT_LAYER = "hints"
INK = QColor(0, 0, 0)
PAPER = QColor(255, 255, 255)
HINTS_OPACITY = 0.65
"""How opaque the hint layer is shown over the ink (its dabs are opaque in the layer)."""
MIN_BRUSH, MAX_BRUSH = 1, 96


def _ladder() -> tuple[int, ...]:
    sizes, size = [MIN_BRUSH], float(MIN_BRUSH)
    while sizes[-1] < MAX_BRUSH:
        size = max(size * 1.2, sizes[-1] + 1)
        sizes.append(min(MAX_BRUSH, round(size)))
    return tuple(sizes)


BRUSH_LADDER = _ladder()
"""The brush sizes `[` and `]` step through: 1, 2, ..., 7, 9, 10, 12, 15, 18, ..., 92, 96."""


def step_size(size: int, steps: int) -> int:
    """The size `steps` rungs up (or down, when negative) the ladder from `size`."""
    if steps > 0:
        above = [v for v in BRUSH_LADDER if v > size]
        return above[min(steps, len(above)) - 1] if above else MAX_BRUSH
    below = [v for v in BRUSH_LADDER if v < size]
    return below[-min(-steps, len(below))] if below else MIN_BRUSH


def blank_sketch(side: int) -> QImage:
    image = QImage(side, side, QImage.Format.Format_RGB32)
    image.fill(PAPER)
    return image


def blank_hints(side: int) -> QImage:
    image = QImage(side, side, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    return image


def as_hint_layer(image: QImage, side: int) -> QImage:
    """A picture (a hint layer read from a file) as a hint layer `side` pixels square."""
    layer = image.convertToFormat(QImage.Format.Format_ARGB32)
    if layer.width() != side or layer.height() != side:
        layer = layer.scaled(
            side,
            side,
            Qt.AspectRatioMode.IgnoreAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        ).convertToFormat(QImage.Format.Format_ARGB32)
    return layer


def alpha_of(image: QImage) -> np.ndarray:
    """(H, W) uint8: the alpha channel of an ARGB32 image (a view of a copy)."""
    argb = image.convertToFormat(QImage.Format.Format_ARGB32)
    w, h, stride = argb.width(), argb.height(), argb.bytesPerLine()
    rows = np.frombuffer(argb.constBits(), np.uint8, count=h * stride).reshape(h, stride)
    return rows[:, : 4 * w].reshape(h, w, 4)[..., 3].copy()  # BGRA in memory (little-endian)


def has_hints(image: QImage) -> bool:
    """Whether a hint layer holds any dab (any pixel not fully transparent)."""
    return bool(alpha_of(image).any())


class Stroke:
    """One stroke on `image` (a layer, painted in place): `before` keeps the layer as it was,
    `dirty` the rectangle touched, for the undo command."""

    def __init__(
        self, image: QImage, layer: str, eraser: bool, colour: QColor, size: float
    ) -> None:
        self.image = image
        self.before = QImage(image)  # shares pixels until the first paint detaches them
        self.layer, self.eraser, self.colour, self.size = layer, eraser, QColor(colour), size
        self.points: list[tuple[QPointF, float]] = []
        self.dirty = QRect()

    def begin(self, point: QPointF, pressure: float) -> QRect:
        """The first sample: a dot. Returns the rectangle painted."""
        self.points.append((QPointF(point), pressure))
        path = QPainterPath(point)
        path.lineTo(point + QPointF(0.01, 0.0))
        return self._paint(path, pressure)

    def extend(self, point: QPointF, pressure: float) -> QRect | None:
        """The next sample; None when it is too close to the last one to draw."""
        last, _ = self.points[-1]
        if math.hypot(point.x() - last.x(), point.y() - last.y()) < 0.75:
            return None
        self.points.append((QPointF(point), pressure))
        pts = self.points
        if len(pts) == 2:
            (p0, a), (p1, b) = pts
            return self._curve(p0, None, _mid(p0, p1), (a + b) / 2)
        (p0, a), (p1, b), (p2, c) = pts[-3:]
        return self._curve(_mid(p0, p1), p1, _mid(p1, p2), (a + 2 * b + c) / 4)

    def finish(self) -> QRect | None:
        """The last half segment (None when there is none)."""
        if len(self.points) < 2:
            return None
        (p0, a), (p1, b) = self.points[-2:]
        return self._curve(_mid(p0, p1), None, p1, (a + b) / 2)

    def _curve(
        self, start: QPointF, control: QPointF | None, end: QPointF, pressure: float
    ) -> QRect:
        path = QPainterPath(start)
        if control is None:
            path.lineTo(end)
        else:
            path.quadTo(control, end)
        return self._paint(path, pressure)

    def _pen(self, pressure: float) -> QPen:
        width = self.size * (0.15 + 0.85 * max(0.0, min(1.0, pressure)))
        if self.layer == INK_LAYER:
            colour = PAPER if self.eraser else INK
        else:
            colour = QColor(0, 0, 0) if self.eraser else self.colour  # erasing: opacity only
        return QPen(colour, max(width, 0.5), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                    Qt.PenJoinStyle.RoundJoin)  # fmt: skip

    def _paint(self, path: QPainterPath, pressure: float) -> QRect:
        pen = self._pen(pressure)
        painter = QPainter(self.image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self.layer == HINT_LAYER and self.eraser:
            painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_DestinationOut)
        painter.setPen(pen)
        painter.drawPath(path)
        painter.end()
        margin = pen.widthF() / 2 + 2
        touched = path.boundingRect().adjusted(-margin, -margin, margin, margin).toAlignedRect()
        self.dirty = self.dirty.united(touched)
        return touched


def _mid(a: QPointF, b: QPointF) -> QPointF:
    return QPointF((a.x() + b.x()) / 2, (a.y() + b.y()) / 2)
