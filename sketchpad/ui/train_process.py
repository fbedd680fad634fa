"""The trainer child process (`sketchpad.train.child`) as Qt signals: its files are read on a
timer, a few times a second, and what is new comes out as `eventReceived` and `outputLine`,
then `ended` once it is gone.

(A QProcess cannot do this: it kills a running child when destroyed, so the trainer could not
outlive the app, and PySide6 6.12's `QProcess.startDetached()` does not return the child's
pid.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from sketchpad.train.child import Output, RunEnd, TrainerChild, TrainerStartError


class TrainerProcess(QObject):
    """One trainer child at a time: `start` a new one or `attach` to one left running."""

    started = Signal(int)
    """The child's pid."""
    eventReceived = Signal(dict)
    """One trainer event (see `sketchpad.train.events`), checked against the schema."""
    outputLine = Signal(str)
    """A line the trainer wrote that is not an event (its stderr: warnings, tracebacks)."""
    ended = Signal(object)
    """A `RunEnd`, once the process is gone and everything it wrote has been read."""

    def __init__(self, parent: QObject | None = None, poll_ms: int = 200) -> None:
        super().__init__(parent)
        self._timer = QTimer(self, interval=poll_ms)
        self._timer.timeout.connect(self.poll)
        self._child: TrainerChild | None = None
        self.run_dir: Path | None = None

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child is not None else None

    def is_running(self) -> bool:
        return self._child is not None

    def start(
        self, run_dir: str | Path, args: Sequence[str], env: Mapping[str, str] | None = None
    ) -> bool:
        """Start `sketchpad train --out RUN_DIR --progress jsonl ARGS`. False (and `ended`
        with outcome "failed") when the program cannot be started."""
        if self.is_running():
            raise RuntimeError("a trainer is already running")
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        self.run_dir = run_dir
        try:
            self._child = TrainerChild.spawn(run_dir, args, env)
        except TrainerStartError as exc:
            self.run_dir = None
            self.ended.emit(RunEnd("failed", str(exc)))
            return False
        self._timer.start()
        self.started.emit(self._child.pid)
        return True

    def attach(self, run_dir: str | Path) -> bool:
        """Follow a trainer started earlier (by a previous app) that is still running: its
        events since its last `start` are replayed, then new ones arrive as they come."""
        if self.is_running():
            raise RuntimeError("a trainer is already running")
        run_dir = Path(run_dir)
        child = TrainerChild.attach(run_dir)
        if child is None:
            return False
        self.run_dir, self._child = run_dir, child
        self._timer.start()
        self.started.emit(child.pid)
        self.poll()
        return True

    def stop(self) -> None:
        """Ask the trainer to finish its step, save and exit; a second call kills it (see
        `TrainerChild.stop`)."""
        if self._child is not None:
            self._child.stop()

    def kill(self) -> None:
        if self._child is not None:
            self._child.kill()

    def detach(self) -> None:
        """Stop following the trainer and leave it running (the app is closing)."""
        self._timer.stop()
        self._child = None

    def poll(self) -> None:
        """Read what the trainer wrote since the last poll; report the end once it is gone."""
        child = self._child
        if child is None:
            return
        alive = child.alive()
        self._emit(child.read_new())
        if alive:
            return
        self._emit(child.read_new())  # anything written between the two looks
        self._timer.stop()
        self._child = None
        self.ended.emit(child.end())

    def _emit(self, found: list[Output]) -> None:
        for item in found:
            if isinstance(item, str):
                self.outputLine.emit(item)
            else:
                self.eventReceived.emit(item)
