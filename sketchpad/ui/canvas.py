"""The drawing canvas: black ink on white paper at a resolution finer than the model's, and
over it a layer of colour hints, shown translucent.

Strokes are smoothed and antialiased (`sketchpad.ui.strokes`); a tablet's pressure sets the
width and its eraser end erases; the mouse is the fallback. The Brush draws ink, the Colour
tool dabs hints in the hint colour; the Eraser (and the right button, and the stylus' eraser
end) erases the active layer: the hints when the Colour tool was the last drawing tool, else
the ink. Alt-click asks for a colour to be picked there (`pickRequested`). Every stroke is
one undo command, in canvas pixels whatever the zoom (the `ViewTransform` is shared with the
result view). The canvas says `sketchChanged` whenever the pixels of either layer change
(during a stroke too), so live generation can follow the pen. An empty canvas shows a quiet
hint.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRect, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent, QPen, QUndoStack
from PySide6.QtWidgets import QSizePolicy, QWidget

from sketchpad.ui.canvas_input import PointerInput
from sketchpad.ui.canvas_layers import SketchLayers
from sketchpad.ui.pictures import fitted_square
from sketchpad.ui.strokes import (
    HINT_LAYER,
    HINTS_OPACITY,
    INK_LAYER,
    MAX_BRUSH,
    MIN_BRUSH,
    Stroke,
    step_size,
)
from sketchpad.ui.strokes import blank_sketch as blank_sketch  # the canvas's blank page
from sketchpad.ui.view_hint import hint_lines, paint_hint
from sketchpad.ui.view_transform import ViewNavigator, ViewTransform

CANVAS_SIDE = 512
"""Canvas pixels per side; the shared normalisation downsamples them to the model's size."""

BRUSH = "brush"
ERASER = "eraser"
COLOUR = "colour"
TOOLS = (BRUSH, ERASER, COLOUR)


class SketchCanvas(PointerInput, QWidget):
    sketchChanged = Signal()
    """The pixels of a layer changed: during a stroke, and after undo, redo, clear or a
    loaded picture."""
    strokeFinished = Signal()
    """A stroke ended (it is on the undo stack)."""
    fileDropped = Signal(str)
    """An image file was dropped on the canvas."""
    brushSizeChanged = Signal(int)
    toolChanged = Signal(str)
    pickRequested = Signal(QPointF)
    """Alt-click: pick the colour at this canvas point (the hints', else the result's)."""
    hintsShownChanged = Signal(bool)

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
        self.layers = SketchLayers(undo_stack, side, self)
        self.layers.changed.connect(self._on_layers_changed)
        self._blank = True
        self._tool = BRUSH
        self._drawing_tool = BRUSH
        """The last drawing tool (Brush or Colour): the eraser erases its layer."""
        self._hints_enabled = True
        self._hints_shown = True
        self._colour = QColor(230, 120, 40)
        self._size = 6
        self._stroke: Stroke | None = None
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
        """The ink layer (a shared copy: painting on the canvas afterwards does not change
        it, so it is a safe snapshot to hand to another thread)."""
        return QImage(self.layers.ink)

    def hints_image(self) -> QImage:
        """The hint layer (ARGB, opaque where a colour is asked for), a shared copy."""
        return QImage(self.layers.hints)

    @property
    def side(self) -> int:
        return self.layers.side

    def ink_is_blank(self) -> bool:
        return self.layers.ink_is_blank()

    def has_hints(self) -> bool:
        """Whether the hint layer holds any dab (shown or not)."""
        return self.layers.has_hints()

    def is_blank(self) -> bool:
        """Nothing on either layer."""
        return self.layers.is_blank()

    def empty_hint_lines(self) -> tuple[str, ...]:
        """What the empty canvas says under "Draw here" (colour hints only when offered)."""
        return hint_lines(self._hints_enabled)

    @property
    def showing_hint(self) -> bool:
        """The empty canvas shows what to do; the first stroke hides it."""
        return self._blank and self._stroke is None

    def _recheck(self) -> None:
        blank = self.is_blank()
        if blank != self._blank:
            self._blank = blank
            self.update()

    @property
    def tool(self) -> str:
        return self._tool

    def set_tool(self, tool: str) -> None:
        if tool not in TOOLS:
            raise ValueError(f"unknown tool {tool!r}")
        if tool == COLOUR and not self._hints_enabled:
            tool = BRUSH
        if tool != ERASER:
            self._drawing_tool = tool
        if tool != self._tool:
            self._tool = tool
            self.toolChanged.emit(tool)
            self.update()

    @property
    def active_layer(self) -> str:
        """The layer the current tool works on: the hints for the Colour tool, and for the
        eraser after it; else the ink."""
        return HINT_LAYER if self._drawing_tool == COLOUR and self._hints_enabled else INK_LAYER

    @property
    def hints_enabled(self) -> bool:
        return self._hints_enabled

    def set_hints_enabled(self, enabled: bool) -> None:
        """The model takes colour hints (else the Colour tool is not offered; hints already
        drawn stay on their layer)."""
        self._hints_enabled = enabled
        self.update()  # the empty canvas's hint names the Colour tool only when offered
        if not enabled:
            self._drawing_tool = BRUSH
            if self._tool == COLOUR:
                self.set_tool(BRUSH)
            else:
                self.toolChanged.emit(self._tool)  # the eraser's layer changed

    @property
    def hints_shown(self) -> bool:
        return self._hints_shown

    def set_hints_shown(self, shown: bool) -> None:
        """Show or hide the hint layer (hidden hints are not sent to the model either)."""
        if shown != self._hints_shown:
            self._hints_shown = shown
            self.hintsShownChanged.emit(shown)
            self.update()
            if self.has_hints():
                self.sketchChanged.emit()

    @property
    def hint_colour(self) -> QColor:
        return QColor(self._colour)

    def set_hint_colour(self, colour: QColor) -> None:
        self._colour = QColor(colour)
        self._colour.setAlpha(255)

    def hint_colour_at(self, point: QPointF) -> QColor | None:
        return self.layers.hint_colour_at(point)

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
        self.set_brush_size(step_size(self._size, steps))

    def highlights(self) -> list[QRectF]:
        return list(self._highlights)

    def set_highlights(self, rects: list[QRectF]) -> None:
        """Rectangles (canvas pixels) outlined over the sketch, e.g. the receptive field of the
        discriminator cell hovered on the result; empty to remove them."""
        if rects != self._highlights:
            self._highlights = [QRectF(r) for r in rects]
            self.update()

    # -- edits (each one an undo command: see `SketchLayers`) --------------------------------

    def clear(self) -> None:
        """Both layers blank, as one undo step."""
        self.layers.clear()

    def clear_hints(self) -> None:
        self.layers.clear_hints()

    def replace_image(self, image: QImage, text: str) -> None:
        self.layers.replace_image(image, text)

    def replace_layers(self, ink: QImage, hints: QImage | None, text: str) -> None:
        self.layers.replace_layers(ink, hints, text)

    def _on_layers_changed(self) -> None:
        self._recheck()
        self.update()
        self.sketchChanged.emit()

    # -- strokes, in canvas pixel coordinates ------------------------------------------------

    def begin_stroke(self, point: QPointF, pressure: float = 1.0, eraser: bool = False) -> None:
        """Start a stroke of the current tool on the active layer (`eraser`: erase it, as
        the right button and the stylus' eraser end do)."""
        if self._stroke is not None:
            self.end_stroke()
        if self.showing_hint:
            self.update()  # the hint goes at the first touch
        layer = self.active_layer
        if layer == HINT_LAYER and not self._hints_shown:
            self.set_hints_shown(True)  # no painting what cannot be seen
        erasing = eraser or self._tool == ERASER
        image = self.layers.layer(layer)
        self._stroke = Stroke(image, layer, erasing, self._colour, self._size)
        if layer == HINT_LAYER and not erasing:
            self.layers.mark_hinted()  # the snapshots sent while it is drawn carry hints
        self._show(self._stroke.begin(point, pressure))
        self.sketchChanged.emit()

    def continue_stroke(self, point: QPointF, pressure: float = 1.0) -> None:
        if self._stroke is not None and (touched := self._stroke.extend(point, pressure)):
            self._show(touched)
            self.sketchChanged.emit()

    def end_stroke(self) -> None:
        stroke = self._stroke
        if stroke is None:
            return
        touched = stroke.finish()
        self._stroke = None
        self.layers.recheck()
        self._recheck()
        if touched is not None:
            self._show(touched)
            self.sketchChanged.emit()
        if self.layers.push_stroke(stroke):
            self.strokeFinished.emit()

    @property
    def is_drawing(self) -> bool:
        return self._stroke is not None

    def _show(self, touched: QRect) -> None:
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
        painter.drawImage(rect, self.layers.ink)
        if self._hints_shown and self.has_hints() or self._stroke_on_hints():
            painter.setOpacity(HINTS_OPACITY)
            painter.drawImage(rect, self.layers.hints)
            painter.setOpacity(1.0)
        if self.showing_hint:
            paint_hint(painter, fit, self.palette(), self.empty_hint_lines())
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
            if self._tool == COLOUR:  # the dab's colour inside the outline
                fill = QColor(self._colour)
                fill.setAlphaF(HINTS_OPACITY)
                painter.setBrush(fill)
            painter.drawEllipse(self._hover, radius, radius)
        painter.end()

    def _stroke_on_hints(self) -> bool:
        return self._stroke is not None and self._stroke.layer == HINT_LAYER

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
