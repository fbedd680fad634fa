"""Trainer state on disk: written atomically (temp file, fsync, rename), read with
`torch.load(weights_only=True)` so nothing is unpickled, the last K kept."""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import torch

from sketchpad.checkpoint import atomic_write_bytes
from sketchpad.errors import TrainingError
from sketchpad.train.run_files import checkpoint_dir, checkpoint_path, list_checkpoints


def rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_state(run_dir: Path, step: int, state: dict[str, Any], keep: int) -> Path:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    path = checkpoint_path(run_dir, step)
    atomic_write_bytes(path, buffer.getvalue())
    for _, old in list_checkpoints(run_dir)[:-keep]:
        old.unlink(missing_ok=True)
    return path


def load_latest_state(run_dir: Path) -> tuple[dict[str, Any], Path, list[str]]:
    """The newest readable checkpoint; damaged newer ones are reported, not fatal."""
    problems = []
    for _, path in reversed(list_checkpoints(run_dir)):
        try:
            return torch.load(path, map_location="cpu", weights_only=True), path, problems
        except Exception as exc:  # a damaged file of ours: try the one before it
            problems.append(f"{path.name} is unreadable ({type(exc).__name__}: {exc})")
    detail = f" ({'; '.join(problems)})" if problems else ""
    raise TrainingError(
        f"no usable checkpoint in {checkpoint_dir(run_dir)}{detail}; start a new run without "
        "--resume"
    )
