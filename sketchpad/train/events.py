"""The trainer's event stream: one JSON object per line on stdout with `--progress jsonl`.

Every object has "event" (its type) and "time" (seconds since the epoch). Types and fields:

- `phase`: phase (what the trainer is doing before its first step, in words: "preparing the
  data", "building the networks"), sent as soon as each begins, before `start`
- `start`: config (resolved, as saved in RUN_DIR/config.json), run_dir, device (in words),
  precision, start_step, total_steps, batch_per_process, batch_total, world_size, data (a
  description of the training set)
- `step`: step, total_steps, epoch, losses {d_real, d_fake, g_adv, g_l1, g_fm[, gp]} (weighted
  as added to the loss, averaged since the last step event), lr_g, lr_d, images_per_s, eta_s
  (seconds left, from the steps since the first one). Sent every `log_every` steps and after
  each of a run's first `EARLY_STEPS` steps, so the time left shows from the start
- `sample`: step, path (PNG grid: rows of sketch | output | target for fixed held-out pairs),
  split (where those pairs come from: "val", or "train" when the data is too small to hold any
  out), canvas (true when the grid's last row is the canvas sketch, `CANVAS_SKETCH_NAME`)
- `checkpoint`: step, path (trainer state), model (the exported model file)
- `eval`: step, split, count, metrics {l1, psnr, ssim: {mean, median}}, identity (the same
  numbers for output = the sketch)
- `log`: level ("info" or "warning"), message; among them, on resume, one per changed field
  ("lr_g: 0.0002 -> 1e-05")
- `done`: step, model (the exported model file), stopped (true when stopped early),
  ranks_in_sync (every process ended with identical weights)
- `error`: message, step (or null when the run never started)

A run ends with exactly one `done` or one `error` (every failure of `sketchpad train`, a
command line that does not parse included, is one `error` event and exit code 2). A stop that
comes before training begins (SIGTERM while the trainer prepares) writes nothing and ends with
a `log` event ("stopped before training began"), no `start`, and exit code 0. The same
objects (without "time") go to the `on_event` callback of `TrainingRun`, and the step/eval
values to RUN_DIR/metrics.jsonl.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Event = dict[str, Any]
EARLY_STEPS = 3
"""A run's first steps that each send a `step` event, whatever `log_every` says."""
EventFn = Callable[[Event], None]

SCHEMA: dict[str, tuple[str, ...]] = {
    "phase": ("phase",),
    "start": (
        "config",
        "run_dir",
        "device",
        "precision",
        "start_step",
        "total_steps",
        "batch_per_process",
        "batch_total",
        "world_size",
        "data",
    ),
    "step": ("step", "total_steps", "epoch", "losses", "lr_g", "lr_d", "images_per_s", "eta_s"),
    "sample": ("step", "path"),
    "checkpoint": ("step", "path", "model"),
    "eval": ("step", "split", "count", "metrics", "identity"),
    "log": ("level", "message"),
    "done": ("step", "model", "stopped", "ranks_in_sync"),
    "error": ("message", "step"),
}


def make(kind: str, **fields: Any) -> Event:
    missing = set(SCHEMA[kind]) - set(fields)
    if missing:
        raise ValueError(f"{kind} event lacks {sorted(missing)}")
    return {"event": kind, **fields}


def check(event: Event) -> None:
    """Raise ValueError when an event does not follow the schema (used by tests and the tab)."""
    kind = event.get("event")
    if kind not in SCHEMA:
        raise ValueError(f"unknown event type {kind!r}")
    missing = set(SCHEMA[kind]) - set(event)
    if missing:
        raise ValueError(f"{kind} event lacks {sorted(missing)}")


def format_duration(seconds: float) -> str:
    """ "45 s", "3 min 05 s", "2 h 07 min"."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, s = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {s:02d} s"
    hours, m = divmod(minutes, 60)
    return f"{hours} h {m:02d} min"
