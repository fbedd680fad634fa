"""The drawing canvas: black ink on white paper at a resolution finer than the model's.

Strokes are smoothed (quadratic curves through the midpoints of the pointer samples) and
antialiased; a tablet's pressure sets the width and its eraser end erases; the mouse is the
fallback. Every stroke is one undo command, in canvas pixels whatever the zoom (the
`ViewTransform` is shared with the result view). The canvas says `sketchChanged` whenever its
pixels change (during a stroke too), so live generation can follow the pen. An empty canvas
shows a quiet hint.
"""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import QPoint, QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QPointingDevice,
    QTabletEvent,
    QUndoStack,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from sketchpad.ui.pictures import fitted_square
from sketchpad.ui.undo import PatchCommand
from sketchpad.ui.view_hint import paint_hint
from sketchpad.ui.view_transform import ViewNavigator, ViewTransform

CANVAS_SIDE = 512
"""Canvas pixels per side; the shared normalisation downsamples them to the model's size."""

INK = QColor(0, 0, 0)
PAPER = QColor(255, 255, 255)
BRUSH = "brush"
ERASER = "eraser"
MIN_BRUSH, MAX_BRUSH = 1, 96


def _ladder() -> tuple[int, ...]:
    sizes, size = [MIN_BRUSH], float(MIN_BRUSH)
    while sizes[-1] < MAX_BRUSH:
        size = max(size * 1.2, sizes[-1] + 1)
        sizes.append(min(MAX_BRUSH, round(size)))
    return tuple(sizes)


BRUSH_LADDER = _ladder()
"""The brush sizes `[` and `]` step through: 1, 2, ..., 7, 9, 10, 12, 15, 18, ..., 92, 96."""
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")


def blank_sketch(side: int = CANVAS_SIDE) -> QImage:
    image = QImage(side, side, QImage.Format.Format_RGB32)
    image.fill(PAPER)
    return image


class _Stroke:
    """The samples of the stroke being drawn and the rectangle it has touched."""

    def __init__(self, before: QImage, eraser: bool) -> None:
        self.before = before  # shares pixels with the canvas until the first paint detaches it
        self.eraser = eraser
        self.points: list[tuple[QPointF, float]] = []
        self.dirty = QRect()


class SketchCanvas(QWidget):
    sketchChanged = Signal()
    """The pixels changed: during a stroke, and after undo, redo, clear or a loaded picture."""
    strokeFinished = Signal()
    """A stroke ended (it is on the undo stack)."""
    fileDropped = Signal(str)
    """An image file was dropped on the canvas."""
    brushSizeChanged = Signal(int)
    toolChanged = Signal(str)

    def __init__(
        self,
        undo_stack: QUndoStack,
        side: int = CANVAS_SIDE,
        parent: QWidget | None = None,
        view: ViewTransform | None = None,
    ) -> None:
        super().__init__(parent)
        self.view = view if view is not None else ViewTransform(self)
        self.view.changed.connect(self._on_view_changed)
        self.navigator = ViewNavigator(self, self.view, self.fit_rect)
        """Zoom and pan input: it sees the pointer, wheel and key events first."""
        self._blank = True
        self._undo = undo_stack
        self._image = blank_sketch(side)
        self._tool = BRUSH
        self._size = 6
        self._stroke: _Stroke | None = None
        self._hover: QPointF | None = None
        self._highlights: list[QRectF] = []
        self.setMouseTracking(True)
        self.setAcceptDrops(True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # space-drag needs the keys
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 160)
        self.setToolTip("")

    # -- state -------------------------------------------------------------------------------

    def image(self) -> QImage:
        """The canvas pixels (a shared copy: painting on the canvas afterwards does not change
        it, so it is a safe snapshot to hand to another thread)."""
        return QImage(self._image)

    @property
    def side(self) -> int:
        return self._image.width()

    def is_blank(self) -> bool:
        return self._image == blank_sketch(self.side)

    @property
    def showing_hint(self) -> bool:
        """The empty canvas shows what to do; the first stroke hides it."""
        return self._blank and self._stroke is None

    def _recheck_blank(self) -> None:
        blank = self.is_blank()
        if blank != self._blank:
            self._blank = blank
            self.update()

    @property
    def tool(self) -> str:
        return self._tool

    def set_tool(self, tool: str) -> None:
        if tool not in (BRUSH, ERASER):
            raise ValueError(f"unknown tool {tool!r}")
        if tool != self._tool:
            self._tool = tool
            self.toolChanged.emit(tool)
            self.update()

    @property
    def brush_size(self) -> int:
        return self._size

    def set_brush_size(self, size: int) -> None:
        size = max(MIN_BRUSH, min(MAX_BRUSH, int(size)))
        if size != self._size:
            self._size = size
            self.brushSizeChanged.emit(size)
            self.update()

    def grow_brush(self, steps: int) -> None:
        """`]` and `[`: the next size up or down a fixed ladder (about 20% apart), so that
        n steps up then n down come back to the same size."""
        ladder = BRUSH_LADDER
        if steps > 0:
            above = [v for v in ladder if v > self._size]
            size = above[min(steps, len(above)) - 1] if above else MAX_BRUSH
        else:
            below = [v for v in ladder if v < self._size]
            size = below[-min(-steps, len(below))] if below else MIN_BRUSH
        self.set_brush_size(size)

    def highlights(self) -> list[QRectF]:
        return list(self._highlights)

    def set_highlights(self, rects: list[QRectF]) -> None:
        """Rectangles (canvas pixels) outlined over the sketch, e.g. the receptive field of the
        discriminator cell hovered on the result; empty to remove them."""
        if rects != self._highlights:
            self._highlights = [QRectF(r) for r in rects]
            self.update()

    # -- edits (each one an undo command) ----------------------------------------------------

    def clear(self) -> None:
        if not self.is_blank():
            self.replace_image(blank_sketch(self.side), "Clear")

    def replace_image(self, image: QImage, text: str) -> None:
        """Put a picture (scaled to the canvas) on the canvas as one undoable edit."""
        new = image.convertToFormat(QImage.Format.Format_RGB32)
        if new.size() != self._image.size():
            new = new.scaled(
                self._image.size(),
                Qt.AspectRatioMode.IgnoreAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        self._undo.push(PatchCommand(self, QPoint(0, 0), QImage(self._image), new, text))

    def paste(self, top_left: QPoint, patch: QImage) -> None:
        """Copy `patch` onto the canvas pixel for pixel (undo commands call this)."""
        painter = QPainter(self._image)
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        painter.drawImage(top_left, patch)
        painter.end()
        self._blank = self.is_blank()
        self.update()
        self.sketchChanged.emit()

    # -- strokes, in canvas pixel coordinates ------------------------------------------------

    def begin_stroke(self, point: QPointF, pressure: float = 1.0, eraser: bool = False) -> None:
        if self._stroke is not None:
            self.end_stroke()
        if self.showing_hint:
            self.update()  # the hint goes at the first touch
        self._stroke = _Stroke(QImage(self._image), eraser or self._tool == ERASER)
        self._stroke.points.append((QPointF(point), pressure))
        self._paint_dot(point, pressure)
        self.sketchChanged.emit()

    def continue_stroke(self, point: QPointF, pressure: float = 1.0) -> None:
        stroke = self._stroke
        if stroke is None:
            return
        last, last_p = stroke.points[-1]
        if math.hypot(point.x() - last.x(), point.y() - last.y()) < 0.75:
            return
        stroke.points.append((QPointF(point), pressure))
        pts = stroke.points
        if len(pts) == 2:
            (p0, a), (p1, b) = pts
            self._paint_curve(p0, None, _mid(p0, p1), (a + b) / 2)
        else:
            (p0, a), (p1, b), (p2, c) = pts[-3:]
            self._paint_curve(_mid(p0, p1), p1, _mid(p1, p2), (a + 2 * b + c) / 4)
        self.sketchChanged.emit()

    def end_stroke(self) -> None:
        stroke = self._stroke
        if stroke is None:
            return
        pts = stroke.points
        if len(pts) >= 2:
            (p0, a), (p1, b) = pts[-2:]
            self._paint_curve(_mid(p0, p1), None, p1, (a + b) / 2)
            self.sketchChanged.emit()
        self._stroke = None
        self._recheck_blank()
        rect = stroke.dirty.intersected(self._image.rect())
        if rect.isEmpty():
            return
        text = "Erase" if stroke.eraser else "Stroke"
        before, after = stroke.before.copy(rect), self._image.copy(rect)
        self._undo.push(PatchCommand(self, rect.topLeft(), before, after, text, applied=True))
        self.strokeFinished.emit()

    @property
    def is_drawing(self) -> bool:
        return self._stroke is not None

    def _pen(self, pressure: float) -> QPen:
        assert self._stroke is not None
        width = self._size * (0.15 + 0.85 * max(0.0, min(1.0, pressure)))
        color = PAPER if self._stroke.eraser else INK
        return QPen(color, max(width, 0.5), Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                    Qt.PenJoinStyle.RoundJoin)  # fmt: skip

    def _paint_dot(self, point: QPointF, pressure: float) -> None:
        path = QPainterPath(point)
        path.lineTo(point + QPointF(0.01, 0.0))
        self._paint_path(path, pressure)

    def _paint_curve(
        self, start: QPointF, control: QPointF | None, end: QPointF, pressure: float
    ) -> None:
        path = QPainterPath(start)
        if control is None:
            path.lineTo(end)
        else:
            path.quadTo(control, end)
        self._paint_path(path, pressure)

    def _paint_path(self, path: QPainterPath, pressure: float) -> None:
        assert self._stroke is not None
        pen = self._pen(pressure)
        painter = QPainter(self._image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(pen)
        painter.drawPath(path)
        painter.end()
        margin = pen.widthF() / 2 + 2
        touched = path.boundingRect().adjusted(-margin, -margin, margin, margin).toAlignedRect()
        self._stroke.dirty = self._stroke.dirty.united(touched)
        self.update(self._to_widget(QRectF(touched)).toAlignedRect().adjusted(-2, -2, 2, 2))

    # -- geometry ----------------------------------------------------------------------------

    def fit_rect(self) -> QRectF:
        """The square the canvas is shown in: as large as fits, centred."""
        return fitted_square(self.width(), self.height())

    def target_rect(self) -> QRectF:
        """Where the whole canvas lies in widget coordinates at the current zoom (larger than
        `fit_rect()` when zoomed in; only the part inside it is shown)."""
        return self.view.picture_rect(self.fit_rect())

    def _to_image(self, pos: QPointF) -> QPointF:
        rect = self.target_rect()
        scale = self.side / rect.width()
        return QPointF((pos.x() - rect.x()) * scale, (pos.y() - rect.y()) * scale)

    def _to_widget(self, rect: QRectF) -> QRectF:
        target = self.target_rect()
        scale = target.width() / self.side
        return QRectF(
            target.x() + rect.x() * scale,
            target.y() + rect.y() * scale,
            rect.width() * scale,
            rect.height() * scale,
        )

    def sizeHint(self) -> QSize:
        return QSize(520, 520)

    # -- painting ----------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window())
        fit, rect = self.fit_rect(), self.target_rect()
        painter.setPen(QPen(self.palette().mid().color(), 1))
        painter.drawRect(fit.adjusted(-0.5, -0.5, 0.5, 0.5))
        painter.setClipRect(fit)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.view.zoom < 3)
        painter.drawImage(rect, self._image)
        if self.showing_hint:
            paint_hint(painter, fit, self.palette())
        if self._highlights:
            painter.setBrush(Qt.BrushStyle.NoBrush)
            for n, box in enumerate(self._highlights):
                box = self._to_widget(box).adjusted(1, 1, -1, -1)
                style = (Qt.PenStyle.SolidLine, Qt.PenStyle.DashLine, Qt.PenStyle.DotLine)[n % 3]
                painter.setPen(QPen(QColor(230, 97, 1), 2, style))
                painter.drawRect(box)
        if self._hover is not None and self.underMouse():
            scale = rect.width() / self.side
            radius = max(self._size * scale / 2, 1.5)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(QPen(QColor(128, 128, 128), 1))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawEllipse(self._hover, radius, radius)
        painter.end()

    def _on_view_changed(self) -> None:
        self._hover = (
            None  # the outline was where the pointer is on the old view; the next move redraws it
        )
        self.update()

    def _set_hover(self, pos: QPointF | None) -> None:
        old, self._hover = self._hover, pos
        scale = self.target_rect().width() / self.side
        r = self._size * scale / 2 + 3
        for p in (old, pos):
            if p is not None:
                self.update(QRectF(p.x() - r, p.y() - r, 2 * r, 2 * r).toAlignedRect())

    # -- pointer input -----------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.begin_stroke(self._to_image(event.position()))
        elif event.button() == Qt.MouseButton.RightButton:
            self.begin_stroke(self._to_image(event.position()), eraser=True)
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self._set_hover(event.position())
        if self._stroke is not None:
            self.continue_stroke(self._to_image(event.position()))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._stroke is not None:
            self.continue_stroke(self._to_image(event.position()))
            self.end_stroke()

    def leaveEvent(self, event) -> None:
        self._set_hover(None)
        super().leaveEvent(event)

    def tabletEvent(self, event: QTabletEvent) -> None:
        pos = self._to_image(event.position())
        kind = event.type()
        if kind == QTabletEvent.Type.TabletPress:
            eraser = event.pointerType() == QPointingDevice.PointerType.Eraser
            self.begin_stroke(pos, event.pressure(), eraser=eraser)
        elif kind == QTabletEvent.Type.TabletMove:
            self._set_hover(event.position())
            self.continue_stroke(pos, event.pressure())
        elif kind == QTabletEvent.Type.TabletRelease:
            self.end_stroke()
        event.accept()  # no synthesised mouse events

    # -- drag and drop -----------------------------------------------------------------------

    def dragEnterEvent(self, event) -> None:
        if _dropped_image(event.mimeData()) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        path = _dropped_image(event.mimeData())
        if path is None:
            event.ignore()
            return
        event.acceptProposedAction()
        self.fileDropped.emit(path)


def _dropped_image(mime) -> str | None:
    if not mime.hasUrls():
        return None
    for url in mime.urls():
        if url.isLocalFile() and Path(url.toLocalFile()).suffix.lower() in IMAGE_SUFFIXES:
            return url.toLocalFile()
    return None


def _mid(a: QPointF, b: QPointF) -> QPointF:
    return QPointF((a.x() + b.x()) / 2, (a.y() + b.y()) / 2)
