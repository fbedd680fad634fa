"""Undo for the canvas: every edit (a stroke, a clear, an opened picture) is one command that
swaps a rectangle of pixels, so undo and redo restore the canvas exactly."""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QPoint
from PySide6.QtGui import QImage, QUndoCommand


class PatchTarget(Protocol):
    def paste(self, top_left: QPoint, patch: QImage) -> None: ...


class PatchCommand(QUndoCommand):
    """Replace the pixels at `top_left` by `after` (redo) or `before` (undo).

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
        applied: bool = False,
    ) -> None:
        super().__init__(text)
        self._target = target
        self._top_left = QPoint(top_left)
        self._before = before
        self._after = after
        self._skip_redo = applied

    def redo(self) -> None:
        if self._skip_redo:
            self._skip_redo = False
            return
        self._target.paste(self._top_left, self._after)

    def undo(self) -> None:
        self._target.paste(self._top_left, self._before)
