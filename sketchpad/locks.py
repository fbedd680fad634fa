"""Locks held by a running process: a run folder a trainer writes, the autosave slot of an app
instance. The operating system holds the lock (`flock` on POSIX, `msvcrt.locking` on Windows)
for as long as the process keeps the file open, so a process that dies, however it dies,
releases it: a lock left by a dead process is simply taken over. The file also says who holds
it (pid, the process's start as the OS counts it, and when the lock was taken), for messages.

No Qt and no torch here.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sketchpad.errors import SketchpadError


def process_start(pid: int) -> str | None:
    """When process `pid` started, as the OS counts it (Linux: clock ticks since boot), so a
    pid reused by another process is told apart; None where the OS does not say."""
    try:
        stat = (Path("/proc") / str(pid) / "stat").read_text()
        return stat.rsplit(")", 1)[1].split()[19]  # field 22, starttime
    except (OSError, IndexError):
        return None


@dataclass(frozen=True)
class LockOwner:
    pid: int
    process_start: str | None
    since: float
    """Wall-clock time (time.time()) the lock was taken."""

    def describe(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.since))
        return f"process {self.pid} since {when}"


class LockHeld(SketchpadError):
    """Another live process holds the lock; `owner` says which (None when unreadable)."""

    def __init__(self, message: str, owner: LockOwner | None) -> None:
        super().__init__(message)
        self.owner = owner


def read_owner(path: str | Path) -> LockOwner | None:
    """Who holds (or last held) the lock file at `path`; None when there is none or it is
    unreadable."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
        return LockOwner(
            int(record["pid"]),
            record.get("process_start"),
            float(record["since"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


class ProcessLock:
    """An exclusive lock on `path` for this process. `acquire()` raises `LockHeld` when a live
    process holds it, and returns the owner of a lock it took over from a dead process (None
    when the lock was free)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> LockOwner | None:
        if self._fd is not None:
            return None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        if not _try_lock(fd):
            os.close(fd)
            owner = read_owner(self.path)
            who = owner.describe() if owner else "another process"
            raise LockHeld(f"{self.path.parent} is in use by {who}", owner)
        previous = read_owner(self.path)
        me = LockOwner(os.getpid(), process_start(os.getpid()), time.time())
        record = json.dumps(
            {"pid": me.pid, "process_start": me.process_start, "since": me.since}
        ).encode()
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, record + b"\n")
        os.fsync(fd)
        self._fd = fd
        if previous is not None and previous.pid != me.pid:
            return previous  # a dead process's lock, taken over
        return None

    def release(self) -> None:
        """Give the lock up (the file stays, saying who held it last)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        _unlock(fd)
        os.close(fd)

    def __enter__(self) -> ProcessLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def is_locked(path: str | Path) -> bool:
    """Whether a live process holds the lock at `path` (checked by trying to take it)."""
    path = Path(path)
    if not path.exists():
        return False
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False
    try:
        if _try_lock(fd):
            _unlock(fd)
            return False
        return True
    finally:
        os.close(fd)


if sys.platform == "win32":
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        except OSError:
            pass

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except OSError:
            return False

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
