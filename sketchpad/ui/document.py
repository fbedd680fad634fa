"""The sketch as a document: the file it was saved to, whether it has unsaved changes, new /
open / save / save as / export, and the autosave that survives a crash.

A sketch with colour hints saves as OpenRaster (`.ora`: the ink and the hints as two layers);
one without, as PNG. Open reads both (and any picture); a PNG never silently drops hints: Save
of a hinted sketch that came from a PNG asks where to save the `.ora`. Both files, and the
autosave, keep the noise seed of the picture (the variation the user kept), and opening or
restoring the sketch brings it back.

It asks and tells the user through a `DocumentHost` (the main window), looked up at each call,
so tests that replace the window's dialog methods replace them here too."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PIL import Image
from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QImage, QUndoStack

from sketchpad.errors import DataError
from sketchpad.ora import read_ora, write_ora
from sketchpad.ui.autosave import Autosave, Leftover
from sketchpad.ui.canvas import SketchCanvas
from sketchpad.ui.canvas_input import SKETCH_SUFFIXES
from sketchpad.ui.pictures import (
    image_seed,
    load_sketch_picture,
    png_seed,
    qimage_to_array,
    rgba_to_qimage,
    save_png,
    side_by_side,
    sketch_picture,
    with_seed,
)
from sketchpad.ui.settings import AppSettings

if TYPE_CHECKING:
    from sketchpad.ui.jobs import Frame

IMAGE_FILTER = "Sketches and pictures (" + " ".join(f"*{s}" for s in SKETCH_SUFFIXES) + ")"
PNG_FILTER = "PNG pictures (*.png)"
ORA_FILTER = "OpenRaster, ink and colour hints (*.ora)"
EXPORT_SIDE = 512
"""Export result's default size: the model's picture upscaled when it is smaller."""


class DocumentHost(Protocol):
    """The dialogs and the status bar the document reports through."""

    def ask_open_path(self, title: str, name_filter: str) -> str | None: ...

    def ask_save_path(self, title: str, suggested: str, name_filter: str) -> str | None: ...

    def show_error(self, title: str, text: str) -> None: ...

    def ask_save_changes(self) -> str:
        """ "save", "discard" or "cancel"."""
        ...

    def ask_export_size(self, native: int) -> int | None:
        """The side of an exported result (`native`: the picture's own), or None."""
        ...

    def ask_restore(self, stopped: bool) -> bool:
        """Offer an autosaved sketch; `stopped`: its instance was stopped by a signal (a
        logout, `kill`), else it crashed."""
        ...

    def show_status(self, text: str, timeout_ms: int = 0) -> None: ...

    def picture_seed(self) -> int:
        """The noise seed of the picture shown (kept with the sketch)."""
        ...

    def restore_seed(self, seed: int) -> None:
        """A sketch kept with this seed was opened or restored: its picture uses it again."""
        ...


class SketchDocument(QObject):
    def __init__(
        self,
        host: DocumentHost,
        canvas: SketchCanvas,
        undo_stack: QUndoStack,
        settings: AppSettings,
        parent: QObject | None = None,
        autosave: Autosave | None = None,
    ) -> None:
        """`autosave`: where the sketch is kept after every edit (default: this process's
        autosave slot)."""
        super().__init__(parent)
        self._host, self._canvas, self._undo_stack = host, canvas, undo_stack
        self._settings = settings
        self.path: Path | None = None
        """The file the sketch was last saved to (None: never saved)."""
        self._opened_at: int | None = None
        """The undo index right after a picture was opened (None: none since New): that
        state is a file on disk, nothing to lose, until the user draws on it."""
        self._autosave = autosave if autosave is not None else Autosave()
        self._autosave_timer = QTimer(self, singleShot=True, interval=0)
        self._autosave_timer.timeout.connect(self.autosave)
        undo_stack.indexChanged.connect(self._schedule_autosave)  # let go when destroyed

    # -- unsaved changes ---------------------------------------------------------------------

    def is_unsaved(self) -> bool:
        """The user drew something that is in no file: not saved, not a picture just opened
        (an example untouched), not blank."""
        stack = self._undo_stack
        return (
            not stack.isClean() and stack.index() != self._opened_at and not self._canvas.is_blank()
        )

    def settle_unsaved(self) -> bool:
        """True when it is fine to drop the sketch (saved, discarded, or nothing to lose)."""
        if not self.is_unsaved():
            return True
        answer = self._host.ask_save_changes()
        if answer == "save":
            return self.save()
        return answer == "discard"

    # -- files -------------------------------------------------------------------------------

    def new(self) -> None:
        if not self.settle_unsaved():
            return
        self._canvas.clear()
        self._undo_stack.clear()
        self.path, self._opened_at = None, None
        self._autosave.remove()

    def open_dialog(self) -> None:
        path = self._host.ask_open_path("Open sketch", IMAGE_FILTER)
        if path:
            self.open(path)

    def open(self, path: str | Path) -> bool:
        """A sketch file (`.ora`: ink and hints) or any picture as the sketch (one undoable
        edit); photos get their lines extracted."""
        path = Path(path)
        try:
            if path.suffix.lower() == ".ora":
                sketch = read_ora(path)
                image, photo = sketch_picture(Image.fromarray(sketch.ink), self._canvas.side)
                hints = rgba_to_qimage(sketch.hints) if sketch.hints is not None else None
                seed = sketch.seed
            else:
                (image, photo), hints = load_sketch_picture(path, self._canvas.side), None
                seed = png_seed(path) if path.suffix.lower() == ".png" else None
        except DataError as exc:
            self._host.show_error("Cannot open sketch", str(exc))
            return False
        replaced = not self._canvas.is_blank()
        if seed is not None:  # before the layers, so that the first picture uses it
            self._host.restore_seed(seed)
        self._canvas.replace_layers(image, hints, f"Open {path.name}")
        self._opened_at = self._undo_stack.index()
        self._settings.last_folder = str(path.parent)
        self._settings.add_recent_file(str(path))
        how = "as a photo: its lines were extracted" if photo else "as a drawing"
        if hints is not None:
            how += " with its colour hints"
        undo = " — Ctrl+Z brings back your drawing" if replaced else ""
        self._host.show_status(f"Opened {path.name} {how}{undo}", 8000)
        return True

    def save(self) -> bool:
        if self.path is None or (self._canvas.has_hints() and not _is_ora(self.path)):
            return self.save_as()  # a PNG would drop the hints: ask where the .ora goes
        return self._write_sketch(self.path)

    def save_as(self) -> bool:
        hinted = self._canvas.has_hints()
        stem = self.path.stem if self.path else "sketch"
        suggested = stem + (".ora" if hinted else ".png")
        filters = (ORA_FILTER, PNG_FILTER) if hinted else (PNG_FILTER, ORA_FILTER)
        path = self._host.ask_save_path("Save sketch", suggested, ";;".join(filters))
        if not path:
            return False
        path = Path(path)
        if path.suffix.lower() not in (".png", ".ora"):
            path = path.with_name(path.name + (".ora" if hinted else ".png"))
        return self._write_sketch(path)

    def _write_sketch(self, path: Path) -> bool:
        canvas = self._canvas
        if _is_ora(path):
            hints = qimage_to_array(canvas.hints_image()) if canvas.has_hints() else None
            try:
                write_ora(path, qimage_to_array(canvas.image()), hints, self._host.picture_seed())
            except DataError as exc:
                self._host.show_error("Cannot save sketch", str(exc))
                return False
            self._settings.last_folder = str(path.parent)
        elif not self._write_png(self._ink(), path, "Cannot save sketch"):
            return False
        self.path = path
        self._settings.add_recent_file(str(path))
        if canvas.has_hints() and not _is_ora(path):  # not clean: the hints are in no file
            self._host.show_status(
                f"Saved {path} with the ink only: a PNG cannot keep the colour hints (save as "
                ".ora to keep them)",
                10000,
            )
            return True
        self._undo_stack.setClean()
        self._host.show_status(f"Saved {path}", 4000)
        return True

    def export_result(self, frame: Frame | None) -> bool:
        """The generated picture of `frame` (the last one shown) as a PNG, at the size the
        user picks (its own, or upscaled)."""
        if frame is None:
            self._host.show_error("Nothing to export", "No picture has been generated yet.")
            return False
        native = frame.image.width()
        side = self._host.ask_export_size(native)
        if side is None:
            return False
        path = self._host.ask_save_path("Export result", self._export_name("result"), PNG_FILTER)
        if not path:
            return False
        image = frame.image
        if side != native:
            image = image.scaled(
                side,
                side,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        if not self._write_png(image, Path(path), "Cannot export"):
            return False
        self._host.show_status(f"Exported {Path(path).name} ({image.width()} px)", 6000)
        return True

    def export_side_by_side(self, frame: Frame | None, resolution: int | None) -> bool:
        """`frame`'s sketch and picture side by side, at the model's `resolution`."""
        if frame is None or resolution is None:
            self._host.show_error("Nothing to export", "No picture has been generated yet.")
            return False
        name = self._export_name("pair")
        path = self._host.ask_save_path("Export side by side", name, PNG_FILTER)
        if not path:
            return False
        picture = side_by_side(frame.job.sketch, frame.image, resolution)
        return self._write_png(picture, Path(path), "Cannot export")

    def _export_name(self, kind: str) -> str:
        stem = self.path.stem if self.path else "sketch"
        return f"{stem}-{kind}.png"

    def _write_png(self, image: QImage, path: Path, title: str) -> bool:
        try:
            save_png(image, path)
        except DataError as exc:
            self._host.show_error(title, str(exc))
            return False
        self._settings.last_folder = str(path.parent)
        return True

    # -- not losing work ---------------------------------------------------------------------

    def _schedule_autosave(self, _index: int = 0) -> None:
        self._autosave_timer.start()

    def seed_changed(self) -> None:
        """The user kept another variation: the autosave keeps its seed too."""
        self._schedule_autosave()

    @property
    def autosave_path(self) -> Path:
        return self._autosave.path

    def autosave(self) -> None:
        """Keep the sketch in the user data folder after every edit (a blank one is not kept)."""
        if self._canvas.is_drawing:
            return
        if self._canvas.is_blank():
            self._autosave.remove()
            return
        try:
            self._autosave.write(self._ink(), self._hints())
        except DataError as exc:
            self._host.show_status(f"Autosave failed: {exc}", 8000)

    def offer_restore(self) -> bool:
        """After a crash or kill an autosaved sketch is still there: offer to restore it. Only
        the sketches of instances that are gone are offered (newest first, until one is
        restored); a declined one is removed, a restored one moves into this instance's slot.
        Another running instance's sketch is never offered nor touched."""
        try:
            with contextlib.closing(self._autosave.leftovers()) as leftovers:
                for leftover in leftovers:
                    if not self._host.ask_restore(leftover.stopped):
                        leftover.discard()
                        continue
                    if (seed := image_seed(leftover.image)) is not None:
                        self._host.restore_seed(seed)
                    self._canvas.replace_layers(leftover.image, leftover.hints, "Restore sketch")
                    self._adopt(leftover)
                    return True
        except DataError as exc:
            self._host.show_status(f"Autosave failed: {exc}", 8000)
        return False

    def _adopt(self, leftover: Leftover) -> None:
        try:
            self._autosave.adopt(leftover)
        except DataError as exc:
            self._host.show_status(f"Restored the autosaved sketch; autosave failed: {exc}", 8000)
        else:
            self._host.show_status("Restored the autosaved sketch", 6000)

    def keep_for_next_start(self, why: str) -> None:
        """The app is stopped by a signal (`why`): no one can be asked, so unsaved work is
        kept for the next start to offer (with a note that says what happened)."""
        self._autosave_timer.stop()
        if not self.is_unsaved() or self._canvas.is_drawing:
            self._autosave.remove()
            return
        try:
            self._autosave.keep_for_next_start(self._ink(), why, self._hints())
        except DataError as exc:
            self._host.show_status(f"Autosave failed: {exc}", 8000)

    def _ink(self) -> QImage:
        """The ink layer, carrying the picture's seed for a PNG to keep."""
        return with_seed(self._canvas.image(), self._host.picture_seed())

    def _hints(self) -> QImage | None:
        return self._canvas.hints_image() if self._canvas.has_hints() else None

    def close(self) -> None:
        """The app closes on purpose: nothing to restore next time."""
        self._autosave_timer.stop()
        self._autosave.remove()


def _is_ora(path: Path) -> bool:
    return path.suffix.lower() == ".ora"
