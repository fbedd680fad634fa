"""The autosaved sketch, one slot per running app instance, so that finding a sketch at start
means an instance crashed or was killed, and a second instance never mistakes the first one's
sketch for a crash.

The user data folder's autosave/ holds `slot-N.png` (the sketch, written after every edit and
removed when the instance closes on purpose; its colour hints in `slot-N.hints.png` beside it)
and `slot-N.lock`, a `ProcessLock` the instance holds for its lifetime; the OS lets it go
however the instance dies. At start, a slot whose sketch is there but whose lock is free was
left by an instance that is gone: its sketch is offered, its lock taken over while the user
answers, and its files removed only then (declined, or restored: the sketch then lives on in
this instance's own slot). A slot a running instance holds is never offered nor touched. The
sketch of versions before slots (`autosave.png` in the user data folder) is offered once too,
like a slot whose instance is gone.

An app instance is a process: the autosaves of one process share its slot (the app has one
window; tests make several in turn, a later one finding the sketch an earlier one, never
closed, left: as after a crash). An `Autosave` given its own `SlotClaim` acts as another
instance.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from PySide6.QtGui import QImage

from sketchpad.autosave_slots import Slot, SlotClaim, gone_slots, process_claim
from sketchpad.errors import DataError
from sketchpad.locks import LockHeld, ProcessLock
from sketchpad.paths import autosave_dir
from sketchpad.ui.pictures import save_png


class Leftover:
    """A sketch an instance that is gone left behind; its slot is taken over (its lock held)
    until `discard` or `release`."""

    def __init__(
        self, slot: Slot, image: QImage, lock: ProcessLock | None, hints: QImage | None = None
    ) -> None:
        self.slot, self.image, self.hints = slot, image, hints
        """The ink, and the colour hints (None: none)."""
        self._lock = lock
        self.stopped = slot.note.is_file()
        """Its instance was stopped by a signal and kept it (else it crashed or was killed)."""

    def discard(self) -> None:
        """Remove the slot's sketch (the user declined it, or it now lives on elsewhere)."""
        self.slot.clear()
        self.release()

    def release(self) -> None:
        """Let the slot go with its sketch kept (offered again at the next start)."""
        if self._lock is not None:
            self._lock.release()


class Autosave:
    """One document's autosave, in this process's slot unless given a `claim` of its own."""

    def __init__(self, claim: SlotClaim | None = None) -> None:
        self._claim = claim
        self._written = False

    def _own(self) -> SlotClaim:
        if self._claim is None:
            self._claim = process_claim(autosave_dir())
        return self._claim

    @property
    def path(self) -> Path:
        """This instance's sketch file. Raises DataError when the folder cannot be used."""
        return self._own().slot.png

    def write(self, image: QImage, hints: QImage | None = None) -> None:
        """The ink `image` and its colour `hints` (None: none, any older ones removed).
        Raises DataError when the folder cannot be written."""
        slot = self._own().slot
        if hints is not None:
            save_png(hints, slot.hints)
        else:
            with contextlib.suppress(OSError):
                slot.hints.unlink(missing_ok=True)
        save_png(image, slot.png)
        self._written = True

    def remove(self) -> None:
        with contextlib.suppress(DataError):
            self._own().slot.clear()

    def keep_for_next_start(self, image: QImage, why: str, hints: QImage | None = None) -> None:
        """The instance is stopped by a signal (`why`: its name) with unsaved work: write the
        sketch and a note saying so, for the next start to offer in those words. Raises
        DataError when the folder cannot be written."""
        self.write(image, hints)
        try:
            self.path.with_name(self.path.stem + ".stopped").write_text(why + "\n")
        except OSError as exc:
            raise DataError(f"{self.path.parent}: cannot write there ({exc.strerror})") from exc

    def leftovers(self) -> Iterator[Leftover]:
        """The sketches left by instances that are gone, newest first, each slot taken over
        while it is looked at (released once the iteration moves on, unless `discard`ed).
        First, a sketch in this process's own slot that this document did not write: an
        earlier document of this process that never closed left it. Raises DataError when
        the folder cannot be used."""
        own = self._own()
        if not self._written and (image := _read(own.slot.png)) is not None:
            yield Leftover(own.slot, image, None, _read(own.slot.hints))
        for slot in gone_slots(own.slot):
            lock = ProcessLock(slot.lock)
            try:
                lock.acquire()
            except (LockHeld, OSError):
                continue  # an instance starting now took it over first
            try:
                if not slot.png.is_file():
                    continue  # restored or declined by that instance meanwhile
                image = _read(slot.png)
                if image is None:
                    slot.clear()  # unreadable: nothing to restore, ever
                    continue
                yield Leftover(slot, image, lock, _read(slot.hints))
            finally:
                lock.release()

    def adopt(self, leftover: Leftover) -> None:
        """The restored `leftover` becomes this instance's autosave; its old slot is removed
        once the sketch is safe here. Raises DataError (the old slot kept) when it cannot be
        written."""
        if leftover.slot == self._own().slot:
            self._written = True
            return
        try:
            self.write(leftover.image, leftover.hints)
        except DataError:
            leftover.release()
            raise
        leftover.discard()


def _read(path: Path) -> QImage | None:
    if not path.is_file():
        return None
    image = QImage(str(path))
    return None if image.isNull() else image
