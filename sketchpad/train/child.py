"""The trainer as a child process, without Qt: `sketchpad train --out RUN --progress jsonl ...`
started detached, followed through the files it writes, and told how it ended.

The child writes its events to RUN/progress.jsonl and its stderr to RUN/trainer.log (files, not
pipes), and runs in its own session. So its parent never waits on it, a trainer crash cannot
take the app down, and the trainer can keep running after the app closes; a later app can
follow it again (`TrainerChild.attach`). The parent reads what is new whenever it likes
(`read_new`); `sketchpad.ui.train_process` does it on a timer and turns it into Qt signals.
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

from sketchpad.errors import SketchpadError
from sketchpad.process import self_command
from sketchpad.train import events, runs
from sketchpad.train.run_files import EVENTS_FILE, LOG_FILE

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


class TrainerStartError(SketchpadError):
    """The trainer program could not be started; the message says which program and why."""


Output = events.Event | str
"""What `TrainerChild.read_new` returns, in the order written: a trainer event (a dict,
checked against the schema) or a line that is not an event (its stderr: warnings,
tracebacks)."""


class TrainerChild:
    """One trainer process, started here (`spawn`) or by an earlier app (`attach`), and what
    it has written so far."""

    def __init__(
        self,
        run_dir: Path,
        record: runs.TrainerRecord,
        offsets: dict[str, int],
        popen: subprocess.Popen | None = None,
    ) -> None:
        self.run_dir = run_dir
        self.record = record
        """The process (pid and start) this child is: only that process is ever signalled."""
        self.pid = record.pid
        self._popen = popen
        self._offsets = offsets
        self._partial: dict[str, bytes] = {}
        self._last: events.Event | None = None  # the done or error event
        self._tail: deque[str] = deque(maxlen=TAIL_LINES)
        self._stop_requested = False
        self._signalled = 0

    # -- starting and following --------------------------------------------------------------

    @classmethod
    def spawn(
        cls, run_dir: Path, args: Sequence[str], env: Mapping[str, str] | None = None
    ) -> TrainerChild:
        """Start `sketchpad train --out RUN_DIR --progress jsonl --debug ARGS` detached,
        appending to the run's event and log files (`--debug`: an internal error's traceback
        goes to the log), and write the run's process file. Raises `TrainerStartError` when the
        program cannot be started."""
        head = ["--out", str(run_dir), "--progress", "jsonl", "--debug"]
        program, arguments = trainer_command([*head, *args])
        out_path, log_path = run_dir / EVENTS_FILE, run_dir / LOG_FILE
        offsets = {
            EVENTS_FILE: _size(out_path),
            LOG_FILE: _size(log_path),
        }
        try:
            with open(out_path, "ab") as out, open(log_path, "ab") as err:
                popen = subprocess.Popen(
                    [program, *arguments],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    env=child_environment(env),
                    cwd=str(run_dir),
                    **_detached_flags(),
                )
        except OSError as exc:
            raise TrainerStartError(
                f"Could not start the trainer ({program}): {exc.strerror or exc}"
            ) from exc
        record = runs.write_process_file(run_dir, popen.pid, [program, *arguments])
        return cls(run_dir, record, offsets, popen)

    @classmethod
    def attach(cls, run_dir: Path) -> TrainerChild | None:
        """The trainer of `run_dir` started earlier (by a previous app), if it is still
        running (else None): the process trainer.json names, started when it says (a pid
        reused by another process is not the trainer). Its events since its last `start` are
        read again."""
        record = runs.read_process_record(run_dir)
        if record is None or not record.alive():
            return None
        offsets = {
            EVENTS_FILE: _last_start_offset(run_dir / EVENTS_FILE),
            LOG_FILE: _size(run_dir / LOG_FILE),
        }
        return cls(run_dir, record, offsets)

    def alive(self) -> bool:
        if self._popen is not None:
            return self._popen.poll() is None
        return self.record.alive()

    # -- stopping ----------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask the trainer to finish its step, save and exit (SIGTERM). A second call kills
        it outright. (Windows has no SIGTERM: there the first call already kills it, and the
        run resumes from its last checkpoint.)"""
        self._stop_requested = True
        self._signalled += 1
        sig = signal.SIGTERM if self._signalled == 1 else getattr(signal, "SIGKILL", signal.SIGTERM)
        try:
            if self._popen is not None:
                self._popen.send_signal(sig)  # our own child: its pid is ours until reaped
            else:
                _signal_same_process(self.record, sig)
        except OSError:
            pass  # already gone: the next look reports the end

    def kill(self) -> None:
        self._signalled = max(self._signalled, 1)
        self.stop()

    # -- reading -----------------------------------------------------------------------------

    def read_new(self) -> list[Output]:
        """What the trainer wrote since the last call: its events file first, then its log."""
        found: list[Output] = [self._read_event_line(line) for line in self._new_lines(EVENTS_FILE)]
        for line in self._new_lines(LOG_FILE):
            self._tail.append(line)
            found.append(line)
        return found

    def _new_lines(self, name: str) -> list[str]:
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

    def _read_event_line(self, line: str) -> Output:
        try:
            event = json.loads(line)
            if not isinstance(event, dict):
                raise ValueError("not an event")
            events.check(event)
        except ValueError:  # JSONDecodeError is a ValueError; so is a schema mismatch
            self._tail.append(line)
            return line
        kind = event["event"]
        if kind in ("done", "error"):
            self._last = event
        if kind == "error":
            self._tail.append(f"error: {event['message']}")
        elif kind == "log":
            self._tail.append(f"{event['level']}: {event['message']}")
        return event

    def end(self) -> RunEnd:
        """How the trainer ended (call once it is gone and everything it wrote is read)."""
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


def _signal_same_process(record: runs.TrainerRecord, sig: int) -> bool:
    """Send `sig` to the process `record` names if it is still that process (its start
    matches), never to another one that was given the same pid; True when sent. On Linux the
    process is pinned by a pidfd while it is checked, so it cannot be swapped in between."""
    pidfd_open = getattr(os, "pidfd_open", None)
    try:
        fd = pidfd_open(record.pid) if pidfd_open is not None else None
    except ProcessLookupError:
        return False
    except OSError:
        fd = None  # a kernel without pidfds: check, then signal
    try:
        if not record.alive():
            return False
        if fd is not None:
            signal.pidfd_send_signal(fd, sig)
        else:
            os.kill(record.pid, sig)
        return True
    finally:
        if fd is not None:
            os.close(fd)


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
