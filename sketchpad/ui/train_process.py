"""The trainer as a child process: `sketchpad train --out RUN --progress jsonl ...`, its JSON
events turned into Qt signals.

The child writes its events to RUN/progress.jsonl and its stderr to RUN/trainer.log (files, not
pipes), and runs in its own session. So the GUI never waits on it, a trainer crash cannot take
the app down, and the trainer can keep running after the app closes; a later app can follow it
again (`attach`). The files are read on a timer, a few times a second. (A QProcess cannot do
the last part: it kills a running child when destroyed, and PySide6 6.12's
`QProcess.startDetached()` does not return the child's pid.)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from sketchpad.process import self_command
from sketchpad.train import events
from sketchpad.ui import runs

TAIL_LINES = 12
"""How many of the last log lines an error report carries."""


def trainer_command(args: Sequence[str]) -> tuple[str, list[str]]:
    """(program, arguments) that run `sketchpad train ARGS` with this same installation: the
    bundled executable re-invokes itself (its train subcommand loads no GUI), a source or pip
    install runs `python -m sketchpad`."""
    return self_command("train", *args)


def child_environment(overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """The trainer's environment: ours, the source tree importable (when not bundled), one core
    left to the GUI unless the thread count is set already, then `overrides`."""
    env = dict(os.environ)
    if getattr(sys, "frozen", False):
        # A bundled child that may outlive the app must not lean on the app's bundle state.
        env["PYINSTALLER_RESET_ENVIRONMENT"] = "1"
    else:
        source_root = Path(__file__).resolve().parent.parent.parent
        if source_root.name not in ("site-packages", "dist-packages"):  # a source checkout
            parts = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
            env["PYTHONPATH"] = os.pathsep.join([str(source_root), *parts])
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) - 1)))
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides or {})
    return env


@dataclass(frozen=True)
class RunEnd:
    """How a trainer process ended.

    outcome: "finished" (all steps), "stopped" (asked to stop; saved), "failed" (the trainer
    reported an error: bad data, non-finite loss…) or "crashed" (it died without saying why).
    """

    outcome: str
    message: str
    step: int | None = None
    model: str | None = None
    exit_code: int | None = None
    log_tail: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.outcome in ("finished", "stopped")


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
        self._popen: subprocess.Popen | None = None
        self._pid: int | None = None
        self.run_dir: Path | None = None
        self._offsets: dict[str, int] = {}
        self._partial: dict[str, bytes] = {}
        self._last: events.Event | None = None  # the done or error event
        self._tail: deque[str] = deque(maxlen=TAIL_LINES)
        self._stop_requested = False
        self._signalled = 0

    # -- starting and following --------------------------------------------------------------

    @property
    def pid(self) -> int | None:
        return self._pid

    def is_running(self) -> bool:
        return self._pid is not None

    def start(
        self, run_dir: str | Path, args: Sequence[str], env: Mapping[str, str] | None = None
    ) -> bool:
        """Start `sketchpad train --out RUN_DIR --progress jsonl ARGS`. False (and `ended`
        with outcome "failed") when the program cannot be started."""
        if self.is_running():
            raise RuntimeError("a trainer is already running")
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        program, arguments = trainer_command(["--out", str(run_dir), "--progress", "jsonl", *args])
        self._reset(run_dir)
        out_path, log_path = run_dir / runs.EVENTS_FILE, run_dir / runs.LOG_FILE
        self._offsets = {
            runs.EVENTS_FILE: _size(out_path),
            runs.LOG_FILE: _size(log_path),
        }
        try:
            with open(out_path, "ab") as out, open(log_path, "ab") as err:
                self._popen = subprocess.Popen(
                    [program, *arguments],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    env=child_environment(env),
                    cwd=str(run_dir),
                    **_detached_flags(),
                )
        except OSError as exc:
            self.run_dir = None
            self.ended.emit(
                RunEnd("failed", f"Could not start the trainer ({program}): {exc.strerror or exc}")
            )
            return False
        self._pid = self._popen.pid
        runs.write_process_file(run_dir, self._pid, [program, *arguments])
        self._timer.start()
        self.started.emit(self._pid)
        return True

    def attach(self, run_dir: str | Path) -> bool:
        """Follow a trainer started earlier (by a previous app) that is still running: its
        events since its last `start` are replayed, then new ones arrive as they come."""
        if self.is_running():
            raise RuntimeError("a trainer is already running")
        run_dir = Path(run_dir)
        pid = runs.read_process_pid(run_dir)
        if pid is None or not runs.pid_alive(pid, expect="train"):
            return False
        self._reset(run_dir)
        self._pid = pid
        self._offsets = {
            runs.EVENTS_FILE: _last_start_offset(run_dir / runs.EVENTS_FILE),
            runs.LOG_FILE: _size(run_dir / runs.LOG_FILE),
        }
        self._timer.start()
        self.started.emit(pid)
        self.poll()
        return True

    def _reset(self, run_dir: Path) -> None:
        self.run_dir = run_dir
        self._partial = {}
        self._last = None
        self._tail.clear()
        self._stop_requested = False
        self._signalled = 0

    # -- stopping ----------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the trainer to finish its step, save and exit (SIGTERM). A second call kills
        it outright. (Windows has no SIGTERM: there the first call already kills it, and the
        run resumes from its last checkpoint.)"""
        if self._pid is None:
            return
        self._stop_requested = True
        self._signalled += 1
        sig = signal.SIGTERM if self._signalled == 1 else getattr(signal, "SIGKILL", signal.SIGTERM)
        try:
            if self._popen is not None:
                self._popen.send_signal(sig)
            else:
                os.kill(self._pid, sig)
        except (ProcessLookupError, OSError):
            pass  # already gone: the next poll reports the end

    def kill(self) -> None:
        self._signalled = max(self._signalled, 1)
        self.stop()

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested

    def detach(self) -> None:
        """Stop following the trainer and leave it running (the app is closing)."""
        self._timer.stop()
        self._popen = None
        self._pid = None

    # -- reading -----------------------------------------------------------------------------

    def poll(self) -> None:
        """Read what the trainer wrote since the last poll; report the end once it is gone."""
        if self.run_dir is None or self._pid is None:
            return
        alive = self._alive()
        self._read_new()
        if alive:
            return
        self._read_new()  # anything written between the two looks
        self._timer.stop()
        end = self._make_end()
        self._popen = None
        self._pid = None
        self.ended.emit(end)

    def _alive(self) -> bool:
        if self._popen is not None:
            return self._popen.poll() is None
        return self._pid is not None and runs.pid_alive(self._pid, expect="train")

    def _read_new(self) -> None:
        assert self.run_dir is not None
        for line in self._new_lines(runs.EVENTS_FILE):
            self._on_stdout_line(line)
        for line in self._new_lines(runs.LOG_FILE):
            self._tail.append(line)
            self.outputLine.emit(line)

    def _new_lines(self, name: str) -> list[str]:
        assert self.run_dir is not None
        path = self.run_dir / name
        offset = self._offsets.get(name, 0)
        try:
            with open(path, "rb") as f:
                f.seek(offset)
                data = f.read()
        except OSError:
            return []
        self._offsets[name] = offset + len(data)
        data = self._partial.pop(name, b"") + data
        *lines, rest = data.split(b"\n")
        if rest:
            self._partial[name] = rest
        return [line.decode("utf-8", "replace").rstrip("\r") for line in lines if line.strip()]

    def _on_stdout_line(self, line: str) -> None:
        try:
            event = json.loads(line)
            if not isinstance(event, dict):
                raise ValueError("not an event")
            events.check(event)
        except ValueError:  # JSONDecodeError is a ValueError; so is a schema mismatch
            self._tail.append(line)
            self.outputLine.emit(line)
            return
        kind = event["event"]
        if kind in ("done", "error"):
            self._last = event
        if kind == "error":
            self._tail.append(f"error: {event['message']}")
        elif kind == "log":
            self._tail.append(f"{event['level']}: {event['message']}")
        self.eventReceived.emit(event)

    def _make_end(self) -> RunEnd:
        code = self._popen.returncode if self._popen is not None else None
        tail = list(self._tail)
        last = self._last
        if last is not None and last["event"] == "done":
            outcome = "stopped" if last.get("stopped") else "finished"
            what = "Stopped" if outcome == "stopped" else "Finished"
            return RunEnd(
                outcome,
                f"{what} at step {last['step']}; the model is saved.",
                step=last["step"],
                model=last["model"],
                exit_code=code,
                log_tail=tail,
            )
        if last is not None and last["event"] == "error":
            return RunEnd(
                "failed", last["message"], step=last["step"], exit_code=code, log_tail=tail
            )
        if self._stop_requested:
            message = (
                "The trainer was killed; resume continues from its last checkpoint."
                if self._signalled > 1
                else "Stopped before training began."
            )
            return RunEnd("stopped", message, exit_code=code, log_tail=tail)
        how = f" (exit code {code})" if code is not None else ""
        return RunEnd(
            "crashed",
            f"The trainer stopped unexpectedly{how}. Resume continues from its last checkpoint.",
            exit_code=code,
            log_tail=tail,
        )


def _detached_flags() -> dict:
    """Own session (POSIX) or process group without a console window (Windows): the trainer
    survives the app and ignores the terminal's Ctrl+C meant for the app."""
    if sys.platform == "win32":
        flags = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.CREATE_NO_WINDOW
        return {"creationflags": flags}
    return {"start_new_session": True}


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _last_start_offset(path: Path) -> int:
    """Byte offset of the last `start` event in an events file (0 when there is none)."""
    try:
        data = path.read_bytes()
    except OSError:
        return 0
    offset, found = 0, 0
    for line in data.splitlines(keepends=True):
        if line.startswith(b'{"event": "start"'):
            found = offset
        offset += len(line)
    return found
