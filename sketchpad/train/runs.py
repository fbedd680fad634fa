"""Training runs on disk, as the Train tab sees them: where new runs go, which runs exist (for
resume), whether a run's trainer process is still alive (it may outlive the app), and the loss
history of a run. The folder's files are named in `sketchpad.train.run_files`.

No Qt and no torch here: the tab and the tests read runs through these functions.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sketchpad.locks import process_start
from sketchpad.paths import user_data_dir
from sketchpad.train.run_files import (
    CONFIG_NAME,
    EVENTS_FILE,
    METRICS_NAME,
    MODEL_NAME,
    OWN_FILES,
    PROCESS_FILE,
    SAMPLES_FOLDER,
    list_checkpoints,
)

RUNS_FOLDER = "runs"


def runs_dir() -> Path:
    path = user_data_dir() / RUNS_FOLDER
    path.mkdir(parents=True, exist_ok=True)
    return path


def new_run_dir(name: str | None = None, now: float | None = None) -> Path:
    """A new, empty run folder: `runs/NAME` or `runs/YYYYMMDD-HHMMSS` (with " 2", " 3"… when
    taken)."""
    base = _safe_name(name) if name else time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    root = runs_dir()
    candidate, n = root / base, 1
    while True:
        try:
            candidate.mkdir(parents=True)
            return candidate
        except FileExistsError:
            n += 1
            candidate = root / f"{base} {n}"


def _safe_name(name: str) -> str:
    cleaned = "".join(c if c.isalnum() or c in "-_. " else "-" for c in name.strip())
    return " ".join(cleaned.split()).strip(".-") or "run"


def data_name(spec: str) -> str:
    """A short name for a `--data` value: "openmoji", "paired:/home/me/my-drawings" →
    "my-drawings"."""
    if not spec or spec == "openmoji":
        return spec or "run"
    kind, sep, rest = spec.partition(":")
    folder = rest if sep and len(kind) > 1 else spec  # "C:/..." is a path, not a kind
    return Path(folder.rstrip("/\\")).name or "run"


def suggest_run_name(spec: str, root: Path | None = None) -> str:
    """A free run name after the data: "my-drawings", else "my-drawings 2", "my-drawings 3"…"""
    root = runs_dir() if root is None else Path(root)
    base, n = _safe_name(data_name(spec)), 1
    name = base
    while (root / name).exists():
        n += 1
        name = f"{base} {n}"
    return name


@dataclass(frozen=True)
class RunInfo:
    path: Path
    step: int
    """The newest checkpoint's step (0: none yet)."""
    total_steps: int | None
    data: str | None
    resolution: int | None
    has_model: bool
    running: bool
    modified: float

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def model_path(self) -> Path:
        return self.path / MODEL_NAME

    @property
    def finished(self) -> bool:
        return self.total_steps is not None and self.step >= self.total_steps

    @property
    def can_resume(self) -> bool:
        return self.step > 0 and not self.running

    def status(self) -> str:
        if self.running:
            return "running"
        if self.step == 0:
            return "no checkpoint"
        return "finished" if self.finished else "stopped"

    def summary(self) -> str:
        """One line for a list: "20250102-101500 — step 300 / 2000, stopped (openmoji, 128 px)"."""
        total = f" / {self.total_steps}" if self.total_steps else ""
        data = self.data
        if data and data != "openmoji":  # "paired:/long/path/to/shapes" → "shapes"
            data = Path(data.partition(":")[2] if ":" in data[2:] else data).name or data
        details = [d for d in (data, f"{self.resolution} px" if self.resolution else "") if d]
        extra = f" ({', '.join(details)})" if details else ""
        return f"{self.name} — step {self.step}{total}, {self.status()}{extra}"


def read_run(path: Path) -> RunInfo | None:
    """A run folder's state, or None when `path` holds no run (no config and no live trainer)."""
    path = Path(path)
    running = run_process_alive(path)
    config_file = path / CONFIG_NAME
    if not config_file.is_file() and not running:
        return None
    total = data = resolution = None
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
        total, data, resolution = config.get("steps"), config.get("data"), config.get("resolution")
    except (OSError, ValueError, AttributeError):
        pass  # starting (no config yet) or damaged: listed with what is known
    checkpoints = list_checkpoints(path)
    times = [p.stat().st_mtime for p in (config_file, path / METRICS_NAME) if p.is_file()]
    return RunInfo(
        path=path,
        step=checkpoints[-1][0] if checkpoints else 0,
        total_steps=total if isinstance(total, int) else None,
        data=data if isinstance(data, str) else None,
        resolution=resolution if isinstance(resolution, int) else None,
        has_model=(path / MODEL_NAME).is_file(),
        running=running,
        modified=max(times, default=path.stat().st_mtime),
    )


def list_runs(root: Path | None = None) -> list[RunInfo]:
    """Every run under `root` (default: the user's runs folder), newest first."""
    root = runs_dir() if root is None else Path(root)
    if not root.is_dir():
        return []
    runs = [info for p in root.iterdir() if p.is_dir() and (info := read_run(p)) is not None]
    return sorted(runs, key=lambda r: (r.modified, r.name), reverse=True)


def latest_sample(run_dir: Path) -> tuple[int, Path, dict | None] | None:
    """The run's newest sample grid: (step, path, its `sample` event when the events file still
    has it, else None), or None when there is none."""
    folder = Path(run_dir) / SAMPLES_FOLDER
    try:
        grids = sorted(p for p in folder.iterdir() if p.name.startswith("step_"))
    except OSError:
        return None
    if not grids:
        return None
    path = grids[-1]
    try:
        step = int(path.stem.removeprefix("step_"))
    except ValueError:
        return None
    event = None
    try:
        lines = (Path(run_dir) / EVENTS_FILE).read_text(encoding="utf-8").splitlines()
    except OSError:
        lines = []
    for line in reversed(lines):
        if '"sample"' not in line:
            continue
        try:
            found = json.loads(line)
        except ValueError:
            continue
        if isinstance(found, dict) and found.get("event") == "sample" and found.get("step") == step:
            event = found
            break
    return step, path, event


def read_config(run_dir: Path) -> dict:
    """The run's config.json ({} when there is none or it is unreadable)."""
    try:
        config = json.loads((Path(run_dir) / CONFIG_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return config if isinstance(config, dict) else {}


def read_loss_history(run_dir: Path, up_to_step: int) -> list[tuple[int, dict[str, float]]]:
    """(step, losses) from a run's metrics.jsonl, for the curves of a resumed run."""
    records = []
    try:
        lines = (Path(run_dir) / METRICS_NAME).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        step = record.get("step") if isinstance(record, dict) else None
        if not isinstance(step, int) or step > up_to_step or "eval" in record:
            continue
        losses = {
            k: float(v)
            for k, v in record.items()
            if k not in ("step", "images_per_s") and isinstance(v, (int, float))
        }
        records.append((step, losses))
    return records


def discard_if_unused(run_dir: Path) -> bool:
    """Remove a run folder that holds nothing but the tab's own files (a start that failed
    before training, e.g. on a bad data folder); True when it was removed."""
    run_dir = Path(run_dir)
    try:
        entries = list(run_dir.iterdir())
    except OSError:
        return False
    if any(e.name not in OWN_FILES or e.is_dir() for e in entries):
        return False
    for entry in entries:
        entry.unlink(missing_ok=True)
    try:
        run_dir.rmdir()
    except OSError:
        return False
    return True


# -- the trainer process ---------------------------------------------------------------------


@dataclass(frozen=True)
class TrainerRecord:
    """The Train tab's trainer.json: which process runs the trainer."""

    pid: int
    process_start: str | None
    """When that process started, as the OS counts it (`sketchpad.locks.process_start`);
    None where the OS does not say, or in a file written before it was recorded."""

    def alive(self) -> bool:
        """Whether this very process is still running: its pid alone may have been reused."""
        return pid_alive(self.pid, expect="train", start=self.process_start)


def write_process_file(run_dir: Path, pid: int, command: list[str]) -> TrainerRecord:
    """Record the trainer process `pid` (and when it started) in the run's trainer.json."""
    record = TrainerRecord(pid, process_start(pid))
    fields = {
        "pid": record.pid,
        "process_start": record.process_start,
        "command": command,
        "started": time.time(),
    }
    (Path(run_dir) / PROCESS_FILE).write_text(json.dumps(fields) + "\n", encoding="utf-8")
    return record


def read_process_record(run_dir: Path) -> TrainerRecord | None:
    """The run's trainer.json, or None when there is none or it is unreadable."""
    try:
        record = json.loads((Path(run_dir) / PROCESS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict):
        return None
    pid, start = record.get("pid"), record.get("process_start")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return None
    return TrainerRecord(pid, start if isinstance(start, str) else None)


def read_process_pid(run_dir: Path) -> int | None:
    record = read_process_record(run_dir)
    return record.pid if record is not None else None


def run_process_alive(run_dir: Path) -> bool:
    record = read_process_record(run_dir)
    return record is not None and record.alive()


def pid_alive(pid: int, expect: str | None = None, start: str | None = None) -> bool:
    """Whether process `pid` is running (not a zombie). A recycled pid is not taken for our
    trainer: when `start` is given (`sketchpad.locks.process_start` of the process meant),
    the process must have started then; on Linux, `expect` must also appear in its command
    line."""
    if sys.platform == "win32":
        return _windows_pid_alive(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        if expect is None and start is None:
            return True  # exists, owned by someone else
    except OSError:
        return False
    proc = Path("/proc") / str(pid)
    if not proc.is_dir():
        return True  # no /proc (macOS): the signal check is all there is
    try:
        state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
        if state in ("Z", "X"):
            return False
        if start is not None and process_start(pid) != start:
            return False  # the pid now names another process
        if expect is not None:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ")
            return expect.encode() in cmdline
    except (OSError, IndexError):
        return False
    return True


def _windows_pid_alive(pid: int) -> bool:
    import ctypes

    kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return False
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return False
        return code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)
