"""Pointer input on the canvas (a part of `SketchCanvas`): the mouse, a tablet's pen (its
pressure, its eraser end) and files dropped on it, turned into calls of the canvas's stroke
API. Left-drag draws with the current tool, right-drag erases the active layer, Alt-click
asks for a colour pick."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QMouseEvent, QPointingDevice, QTabletEvent

if TYPE_CHECKING:
    from PySide6.QtCore import SignalInstance

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")
SKETCH_SUFFIXES = (".ora", *IMAGE_SUFFIXES)
"""What opens as a sketch: an OpenRaster file (ink and hints) or any picture."""


class PointerInput:
    """Mixed into `SketchCanvas`, which has every method used here."""

    if TYPE_CHECKING:  # the canvas's own
        pickRequested: SignalInstance
        fileDropped: SignalInstance
        _stroke: object | None

        def begin_stroke(
            self, point: QPointF, pressure: float = 1.0, eraser: bool = False
        ) -> None: ...
        def continue_stroke(self, point: QPointF, pressure: float = 1.0) -> None: ...
        def end_stroke(self) -> None: ...
        def _to_image(self, pos: QPointF) -> QPointF: ...
        def _set_hover(self, pos: QPointF | None) -> None: ...

    # -- pointer input -----------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        alt = event.modifiers() & Qt.KeyboardModifier.AltModifier
        if event.button() == Qt.MouseButton.LeftButton and alt:
            self.pickRequested.emit(self._to_image(event.position()))
        elif event.button() == Qt.MouseButton.LeftButton:
            self.begin_stroke(self._to_image(event.position()))
        elif event.button() == Qt.MouseButton.RightButton:
            self.begin_stroke(self._to_image(event.position()), eraser=True)
        else:
            super().mousePressEvent(event)  # type: ignore[misc]

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
        super().leaveEvent(event)  # type: ignore[misc]

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
        if url.isLocalFile() and Path(url.toLocalFile()).suffix.lower() in SKETCH_SUFFIXES:
            return url.toLocalFile()
    return None
