"""Undo for the canvas: every edit (a stroke, a clear, an opened picture) is one command that
swaps a rectangle of pixels of one layer (the ink or the colour hints), so undo and redo
restore the canvas exactly. An edit of both layers (opening a sketch, Clear) is a macro of
two commands, one undo step."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QPoint
from PySide6.QtGui import QImage, QUndoCommand


class PatchTarget(Protocol):
    def paste(self, top_left: QPoint, patch: QImage, layer: str) -> None: ...


class PatchCommand(QUndoCommand):
    """Replace the pixels of `layer` at `top_left` by `after` (redo) or `before` (undo).

    `applied=True` (a stroke, already drawn while the pen moved) makes the first redo, which
    QUndoStack.push() calls, do nothing."""

    def __init__(
        self,
        target: PatchTarget,
        top_left: QPoint,
        before: QImage,
        after: QImage,
        text: str,
        *,
        layer: str,
        applied: bool = False,
    ) -> None:
        super().__init__(text)
        self._target = target
        self._top_left = QPoint(top_left)
        self._before = before
        self._after = after
        self._layer = layer
        self._skip_redo = applied

    def redo(self) -> None:
        if self._skip_redo:
            self._skip_redo = False
            return
        self._target.paste(self._top_left, self._after, self._layer)

    def undo(self) -> None:
        self._target.paste(self._top_left, self._before, self._layer)
