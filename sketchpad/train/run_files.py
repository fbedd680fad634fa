"""The names of the files in a run folder, in one place: the trainer writes them, the Train tab
and `list_runs` read them. Importing this costs nothing (no torch).

    config.json        the run's resolved configuration (written atomically at start)
    trainer.lock       held by the trainer while it runs (`sketchpad.locks.ProcessLock`)
    model.safetensors  the newest exported model
    metrics.jsonl      one JSON record per logged step and evaluation
    checkpoints/       trainer state for resume (`sketchpad.train.state`)
    samples/           sketch | output | target grids

and the Train tab's own, beside them:

    trainer.json       the child process: pid, command, start time
    progress.jsonl     the trainer's stdout (one JSON event per line), appended by every start
    trainer.log        the trainer's stderr (tracebacks, warnings)
    canvas.png         the canvas sketch, shown with the model being trained in each sample
                       (`sketchpad.train.canvas_sketch`; optional, written atomically)
"""

from __future__ import annotations

import re
from pathlib import Path

CONFIG_NAME = "config.json"
MODEL_NAME = "model.safetensors"
METRICS_NAME = "metrics.jsonl"
SAMPLES_FOLDER = "samples"
CHECKPOINTS_FOLDER = "checkpoints"

LOCK_FILE = "trainer.lock"

PROCESS_FILE = "trainer.json"
EVENTS_FILE = "progress.jsonl"
LOG_FILE = "trainer.log"
CANVAS_SKETCH_NAME = "canvas.png"
OWN_FILES = (PROCESS_FILE, EVENTS_FILE, LOG_FILE, LOCK_FILE, CANVAS_SKETCH_NAME)
"""The tab's own files and the trainer's lock: a folder holding only these never trained."""


_NAME = re.compile(r"^step_(\d{8})\.pt$")
_TEMP = re.compile(r"^\.(step_\d{8}\.pt|model\.safetensors|config\.json|canvas\.png)\..+\.tmp$")
"""`sketchpad.checkpoint.atomic_write_bytes`'s temp files for the files above (".NAME.*.tmp"),
and the Train tab's for the canvas sketch."""


def checkpoint_dir(run_dir: Path) -> Path:
    return Path(run_dir) / CHECKPOINTS_FOLDER


def checkpoint_path(run_dir: Path, step: int) -> Path:
    return checkpoint_dir(run_dir) / f"step_{step:08d}.pt"


def list_checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """(step, path) of the run's checkpoints, oldest first."""
    folder = checkpoint_dir(run_dir)
    if not folder.is_dir():
        return []
    found = []
    for p in folder.iterdir():
        m = _NAME.match(p.name)
        if m:
            found.append((int(m.group(1)), p))
    return sorted(found)


def temp_files(run_dir: Path) -> list[Path]:
    """Temp files that saves of the run's checkpoints, model or config left behind (a trainer
    killed mid-write); never checkpoints themselves."""
    found = []
    for folder in (Path(run_dir), checkpoint_dir(run_dir)):
        if folder.is_dir():
            found += [p for p in folder.iterdir() if _TEMP.match(p.name) and p.is_file()]
    return sorted(found)
