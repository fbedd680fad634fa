"""The names of the files in a run folder, in one place: the trainer writes them, the Train tab
and `list_runs` read them. Importing this costs nothing (no torch).

    config.json        the run's resolved configuration (written at start)
    model.safetensors  the newest exported model
    metrics.jsonl      one JSON record per logged step and evaluation
    checkpoints/       trainer state for resume (`sketchpad.train.state`)
    samples/           sketch | output | target grids

and the Train tab's own, beside them:

    trainer.json       the child process: pid, command, start time
    progress.jsonl     the trainer's stdout (one JSON event per line), appended by every start
    trainer.log        the trainer's stderr (tracebacks, warnings)
"""

from __future__ import annotations

import re
from pathlib import Path

CONFIG_NAME = "config.json"
MODEL_NAME = "model.safetensors"
METRICS_NAME = "metrics.jsonl"
SAMPLES_FOLDER = "samples"
CHECKPOINTS_FOLDER = "checkpoints"

PROCESS_FILE = "trainer.json"
EVENTS_FILE = "progress.jsonl"
LOG_FILE = "trainer.log"
OWN_FILES = (PROCESS_FILE, EVENTS_FILE, LOG_FILE)
"""The tab's own files: a folder holding only these never started training."""


_NAME = re.compile(r"^step_(\d{8})\.pt$")


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
