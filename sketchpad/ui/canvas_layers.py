"""The sketch's two layers, the ink and the colour hints, and the edits on them: each edit an
undo command (`sketchpad.ui.undo`), an edit of both layers one undo step. The canvas widget
shows them and draws on them; the document saves them."""

from __future__ import annotations

from PySide6.QtCore import QObject, QPoint, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QUndoStack

from sketchpad.ui.strokes import (
    HINT_LAYER,
    INK_LAYER,
    Stroke,
    as_hint_layer,
    blank_hints,
    blank_sketch,
    has_hints,
)
from sketchpad.ui.undo import PatchCommand


class SketchLayers(QObject):
    changed = Signal()
    """An edit changed the pixels of a layer (a paste: undo, redo, clear, an opened file)."""

    def __init__(self, undo_stack: QUndoStack, side: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._undo = undo_stack
        self.ink = blank_sketch(side)
        """Black lines on white paper (RGB32), painted in place by strokes."""
        self.hints = blank_hints(side)
        """Colour dabs on transparency (ARGB32), painted in place by strokes."""
        self._has_hints = False

    @property
    def side(self) -> int:
        return self.ink.width()

    def layer(self, name: str) -> QImage:
        return self.ink if name == INK_LAYER else self.hints

    def ink_is_blank(self) -> bool:
        return self.ink == blank_sketch(self.side)

    def has_hints(self) -> bool:
        return self._has_hints

    def is_blank(self) -> bool:
        return not self._has_hints and self.ink_is_blank()

    def recheck(self) -> None:
        """Look again whether the hint layer holds a dab (after a stroke or a paste)."""
        self._has_hints = has_hints(self.hints)

    def mark_hinted(self) -> None:
        """A hint stroke is being drawn: the layer holds a dab (checked again at its end)."""
        self._has_hints = True

    def hint_colour_at(self, point: QPointF) -> QColor | None:
        """The hint colour at a canvas point (None where there is no hint)."""
        x, y = int(point.x()), int(point.y())
        if not (0 <= x < self.side and 0 <= y < self.side):
            return None
        colour = self.hints.pixelColor(x, y)
        if colour.alpha() < 128:
            return None
        colour.setAlpha(255)
        return colour

    # -- edits -------------------------------------------------------------------------------

    def clear(self) -> None:
        """Both layers blank, as one undo step."""
        if not self.is_blank():
            self.replace_layers(blank_sketch(self.side), None, "Clear")

    def clear_hints(self) -> None:
        if self._has_hints:
            self._replace(HINT_LAYER, blank_hints(self.side), "Clear hints")

    def replace_image(self, image: QImage, text: str) -> None:
        """A picture (scaled to the canvas) as the ink, one undoable edit."""
        new = image.convertToFormat(QImage.Format.Format_RGB32)
        if new.size() != self.ink.size():
            new = new.scaled(
                self.ink.size(),
                Qt.AspectRatioMode.IgnoreAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        self._replace(INK_LAYER, new, text)

    def replace_layers(self, ink: QImage, hints: QImage | None, text: str) -> None:
        """A whole sketch (an opened file, a restored autosave): the ink, and the hints (None:
        none), each scaled to the canvas, as one undo step."""
        layer = as_hint_layer(hints, self.side) if hints is not None else blank_hints(self.side)
        self._undo.beginMacro(text)
        self.replace_image(ink, text)
        if layer != self.hints:
            self._replace(HINT_LAYER, layer, text)
        self._undo.endMacro()

    def push_stroke(self, stroke: Stroke) -> bool:
        """A finished stroke (already painted) as an undo command; False when it touched
        nothing."""
        rect = stroke.dirty.intersected(stroke.image.rect())
        if rect.isEmpty():
            return False
        if stroke.layer == INK_LAYER:
            text = "Erase" if stroke.eraser else "Stroke"
        else:
            text = "Erase hints" if stroke.eraser else "Colour hint"
        before, after = stroke.before.copy(rect), stroke.image.copy(rect)
        self._undo.push(
            PatchCommand(
                self, rect.topLeft(), before, after, text, layer=stroke.layer, applied=True
            )
        )
        return True

    def paste(self, top_left: QPoint, patch: QImage, layer: str) -> None:
        """Copy `patch` onto a layer pixel for pixel (undo commands call this)."""
        painter = QPainter(self.layer(layer))
        painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_Source)
        painter.drawImage(top_left, patch)
        painter.end()
        self.recheck()
        self.changed.emit()

    def _replace(self, layer: str, new: QImage, text: str) -> None:
        old = QImage(self.layer(layer))
        self._undo.push(PatchCommand(self, QPoint(0, 0), old, new, text, layer=layer))
