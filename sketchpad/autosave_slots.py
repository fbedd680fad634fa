"""Autosave slots, one per running app instance: `slot-N.png` (the sketch's ink),
`slot-N.hints.png` beside it when the sketch has colour hints, and `slot-N.lock` (a
`ProcessLock` the instance holds for its lifetime) in the user data folder's autosave/.
Which slot is this instance's, and which slots hold a sketch whose instance is gone. The
pictures themselves are read and written by `sketchpad.ui.autosave`. No Qt here.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path

from sketchpad.errors import DataError
from sketchpad.locks import LockHeld, ProcessLock, is_locked

LEGACY_NAME = "autosave.png"
"""The one autosave of versions before slots, beside the autosave folder."""
LEGACY_LOCK = "legacy.lock"
MAX_SLOTS = 1024
_SLOT_PNG = re.compile(r"^slot-(\d+)\.png$")


@dataclass(frozen=True)
class Slot:
    """A sketch file and the lock of the instance that writes it."""

    png: Path
    lock: Path

    @property
    def note(self) -> Path:
        """Beside the sketch when its instance was stopped by a signal (a logout, a shutdown,
        `kill`) and kept it on purpose: its absence means the instance crashed or was
        killed outright."""
        return self.png.with_name(self.png.stem + ".stopped")

    @property
    def hints(self) -> Path:
        """The sketch's colour-hint layer (RGBA PNG), there only when it has hints."""
        return self.png.with_name(self.png.stem + ".hints.png")

    @classmethod
    def numbered(cls, folder: Path, n: int) -> Slot:
        return cls(folder / f"slot-{n}.png", folder / f"slot-{n}.lock")

    def clear(self) -> None:
        """Remove the sketch and the temp files of a write cut short; the lock file stays (the
        slot is free for the next instance)."""
        with contextlib.suppress(OSError):
            self.png.unlink(missing_ok=True)
            self.hints.unlink(missing_ok=True)
            self.note.unlink(missing_ok=True)
            for name in (self.png.name, self.hints.name):
                for temp in self.png.parent.glob(f".{name}.*.tmp"):
                    temp.unlink(missing_ok=True)


class SlotClaim:
    """An instance's own slot, its lock held until `release` (or until the process ends)."""

    def __init__(self, slot: Slot, lock: ProcessLock) -> None:
        self.slot = slot
        self._lock = lock

    @classmethod
    def claim(cls, folder: Path) -> SlotClaim:
        """The lowest-numbered slot in `folder` that no running instance holds and where no
        sketch waits to be offered. Raises DataError when the folder cannot be used."""
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for n in range(MAX_SLOTS):
                slot = Slot.numbered(folder, n)
                if slot.png.exists():
                    continue  # a running instance's, or one left to offer
                lock = ProcessLock(slot.lock)
                try:
                    lock.acquire()
                except LockHeld:
                    continue
                return cls(slot, lock)
        except OSError as exc:
            raise DataError(
                f"{folder}: cannot keep the autosave there ({exc.strerror or exc}). "
                "Check that the user data folder is writable."
            ) from exc
        raise DataError(
            f"{folder}: all {MAX_SLOTS} autosave slots are taken. Close other Sketchpad "
            "windows, or remove the folder's old slot files."
        )

    @property
    def held(self) -> bool:
        return self._lock.held

    def release(self) -> None:
        """Give the slot up, its sketch left as it is (as a crash would)."""
        self._lock.release()


_process_claims: dict[Path, SlotClaim] = {}


def process_claim(folder: Path) -> SlotClaim:
    """This process's slot in `folder`, claimed on first use and held while the process runs."""
    claim = _process_claims.get(folder)
    if claim is None or not claim.held:
        claim = _process_claims[folder] = SlotClaim.claim(folder)
    return claim


def gone_slots(own: Slot) -> list[Slot]:
    """Slots in `own`'s folder with a sketch and no running instance, newest first; and the
    sketch of versions before slots."""
    folder = own.png.parent
    found = []
    for png in folder.glob("slot-*.png"):
        match = _SLOT_PNG.match(png.name)
        if match and png != own.png:
            slot = Slot.numbered(folder, int(match.group(1)))
            if not is_locked(slot.lock):
                found.append(slot)
    legacy = Slot(folder.parent / LEGACY_NAME, folder / LEGACY_LOCK)
    if legacy.png.is_file() and not is_locked(legacy.lock):
        found.append(legacy)
    return sorted(found, key=_modified, reverse=True)


def _modified(slot: Slot) -> float:
    try:
        return slot.png.stat().st_mtime
    except OSError:
        return 0.0
