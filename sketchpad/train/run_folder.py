"""A run folder while a trainer uses it: locked for the whole run (by rank 0 under DDP),
checked before anything is written, cleared of the temp files interrupted saves left, and its
files written so that a full disk or a kill never leaves a torn one.

- A new run needs a folder that is missing, empty, or holds nothing but the Train tab's own
  files (`run_files.OWN_FILES`: the tab creates them before it starts the trainer) and empty
  files (a shell's `> RUN/events.jsonl`). A folder holding a run is refused (`--resume`
  continues it); one holding anything else is refused unless the user says `--overwrite`.
- A resumed run reads `config.json`; when that is missing or damaged, the copy of the
  configuration the newest good checkpoint holds, with a warning.
"""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from sketchpad.checkpoint import atomic_write_bytes
from sketchpad.errors import ConfigError, TrainingError
from sketchpad.locks import LockHeld, LockOwner, ProcessLock
from sketchpad.train.config import TrainConfig, config_from_saved
from sketchpad.train.run_files import (
    CONFIG_NAME,
    LOCK_FILE,
    OWN_FILES,
    list_checkpoints,
    temp_files,
)

SavedState = Callable[[], tuple[dict[str, Any], Path]]
"""Loads the newest good checkpoint: (its state, its path)."""


@contextmanager
def writing(what: str, kept: str | Callable[[], str] = "") -> Iterator[None]:
    """Turn a failed write of `what` (disk full, no permission, ...) into a `TrainingError`
    that says what failed and, in `kept` (asked only then), what is still there."""
    try:
        yield
    except OSError as exc:
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
        reason = "the disk is full" if full else exc.strerror or str(exc)
        tail = kept() if callable(kept) else kept
        message = f"could not write {what}: {reason}." + (f" {tail}" if tail else "")
        raise TrainingError(message) from exc


class RunFolder:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = ProcessLock(self.path / LOCK_FILE)
        self._created = self._lock_created = False

    # -- the lock -----------------------------------------------------------------------------
    def check_place(self) -> None:
        if self.path.exists() and not self.path.is_dir():
            raise TrainingError(
                f"--out {self.path} is a file, not a folder; give a folder for the run (it is "
                "created when missing)"
            )

    def lock(self) -> LockOwner | None:
        """Hold the folder for this process (creating it when missing). Returns the owner of
        a lock taken over from a trainer that died without letting go (None otherwise)."""
        self.check_place()
        self._created = not self.path.exists()
        self._lock_created = not self._lock.path.exists()
        try:
            return self._lock.acquire()
        except LockHeld as exc:
            who = exc.owner.describe() if exc.owner else "another process"
            raise LockHeld(
                f"run folder {self.path} is in use by {who}; wait for that trainer to end or "
                "stop it, or choose another --out folder",
                exc.owner,
            ) from exc
        except OSError as exc:
            raise TrainingError(
                f"cannot use {self.path} as a run folder: {exc.strerror or exc}"
            ) from exc

    def release(self, *, discard: bool = False) -> None:
        """Let the folder go; with `discard` (a start that failed or was stopped before
        training), remove the lock file and the folder when this run created them."""
        if not self._lock.held:
            return
        with suppress(OSError):  # let go on purpose: says nobody (a crash's names its owner)
            os.truncate(self._lock.path, 0)
        self._lock.release()
        if discard and self._lock_created:
            with suppress(OSError):
                self._lock.path.unlink()
                if self._created:
                    self.path.rmdir()  # only when empty

    # -- what the folder holds ----------------------------------------------------------------
    def check_new(self, overwrite: bool = False) -> None:
        """Refuse a folder a new run would mix into (reads only)."""
        self.check_place()
        if not self.path.is_dir():
            return
        if list_checkpoints(self.path):
            raise TrainingError(
                f"{self.path} already holds a training run; add --resume to continue it "
                "or choose another --out folder"
            )
        temp = set(temp_files(self.path))  # interrupted saves, or the tab's canvas being written
        foreign = sorted(
            p.name
            for p in self.path.iterdir()
            if p.name not in OWN_FILES
            and p not in temp
            and not (p.is_file() and p.stat().st_size == 0)
        )
        if foreign and not overwrite:
            more = f" and {len(foreign) - 4} more" if len(foreign) > 4 else ""
            shown = ", ".join(foreign[:4]) + more
            raise TrainingError(
                f"run folder {self.path} is not empty and holds no checkpoint ({shown}); "
                "choose a new or empty --out folder, or add --overwrite to train into it "
                "anyway (the run's files there are replaced)"
            )

    def remove_temp_files(self) -> list[str]:
        """Remove what interrupted saves left (only under the lock: a live trainer's temp
        file is its save in progress); returns their names."""
        removed = []
        for path in temp_files(self.path):
            path.unlink(missing_ok=True)
            removed.append(str(path.relative_to(self.path)))
        return removed

    def check_resumable(self) -> None:
        self.check_place()
        if not (self.path / CONFIG_NAME).is_file() and not list_checkpoints(self.path):
            raise TrainingError(
                f"{self.path} holds no run to resume ({CONFIG_NAME} is missing); start a "
                "new run without --resume"
            )

    # -- config.json --------------------------------------------------------------------------
    def read_config(self, saved_state: SavedState) -> tuple[TrainConfig, list[str]]:
        """The run's configuration and warnings: config.json, or when it is missing or
        damaged the copy in the newest good checkpoint (`saved_state` loads it)."""
        self.check_resumable()
        path = self.path / CONFIG_NAME
        try:
            values = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(values, dict):
                raise ConfigError("it does not hold a JSON object")
            return config_from_saved(values), []
        except FileNotFoundError:
            problem = f"{CONFIG_NAME} is missing"
        except (OSError, UnicodeDecodeError, ValueError, ConfigError) as exc:
            problem = f"{CONFIG_NAME} is damaged ({exc})"
        state, checkpoint = saved_state()
        try:
            config = config_from_saved(json.loads(state["config"]))
        except (KeyError, TypeError, ValueError, ConfigError) as exc:
            raise TrainingError(
                f"{problem}, and {checkpoint.name} holds no usable copy of the run's "
                f"configuration ({exc}); start a new run"
            ) from exc
        return config, [f"{problem}; using the copy in {checkpoint.name} (rewritten now)"]

    def write_config(self, config: TrainConfig) -> None:
        data = (json.dumps(config.to_dict(), indent=2) + "\n").encode("utf-8")
        with writing(f"{self.path / CONFIG_NAME}", "Nothing of the run was changed."):
            atomic_write_bytes(self.path / CONFIG_NAME, data)
