"""`sketchpad --self-test`: checks that an installation (source or bundle) works end to end.

Loads the default model, generates from an example sketch with the discriminator's verdicts,
and runs one training step on a tiny built-in set in the child-process mode the Train tab uses.
Prints one line of timings and exits 0; any failure exits 1 with the reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TINY_NETWORK = [
    *("--resolution", "32", "--batch", "2"),
    *("--g-base-width", "4", "--g-max-width", "8", "--g-depth", "3", "--g-attention-levels", "1"),
    *("--d-ndf", "4", "--d-branches", "2"),
]
"""Trainer flags for a network small enough to train a step in seconds (also used by tests)."""

TINY_TRAINING = [
    *TINY_NETWORK,
    *("--steps", "1", "--sample-every", "1", "--eval-limit", "2", "--sample-count", "1"),
]


class SelfTestError(Exception):
    pass


def _tiny_pairs(root: Path, count: int = 6) -> Path:
    """Circles: outline → filled, enough for a training step."""
    from PIL import Image, ImageDraw

    for sub in ("sketches", "images"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for i in range(count):
        box = (4 + i, 6, 28 + i, 30)
        sketch = Image.new("RGB", (36, 36), "white")
        ImageDraw.Draw(sketch).ellipse(box, outline="black", width=2)
        image = Image.new("RGB", (36, 36), "white")
        ImageDraw.Draw(image).ellipse(box, fill=(40 * i, 120, 200), outline="black", width=2)
        sketch.save(root / "sketches" / f"c{i}.png")
        image.save(root / "images" / f"c{i}.png")
    return root


def _check_generation() -> dict[str, float]:
    from sketchpad.checkpoint import load_model
    from sketchpad.engine import Engine, Request
    from sketchpad.paths import default_model_path, examples_dir
    from sketchpad.sketch import load_image, sketch_to_tensor

    t0 = time.perf_counter()
    path = default_model_path()
    if not path.is_file():
        raise SelfTestError(f"the default model is missing: {path}")
    model = load_model(path)
    if model.discriminator is None:
        raise SelfTestError("the default model has no discriminator")
    examples = sorted(examples_dir().glob("*.png"))
    if not examples:
        raise SelfTestError(f"no example sketches in {examples_dir()}")
    t1 = time.perf_counter()
    engine = Engine(model, "auto")
    sketch = sketch_to_tensor(load_image(examples[0]), model.resolution)
    result = engine.run(Request(1, sketch, want_verdicts=True))
    t2 = time.perf_counter()
    if result.image.shape != (model.resolution, model.resolution, 3):
        raise SelfTestError(f"unexpected image shape {result.image.shape}")
    if result.image.std() < 1.0:
        raise SelfTestError("the generated image is flat")
    if not result.verdicts or not all(np.isfinite(v).all() for _, v in result.verdicts):
        raise SelfTestError("the discriminator gave no usable verdicts")
    return {"load_ms": (t1 - t0) * 1000, "generate_ms": (t2 - t1) * 1000}


def _check_training() -> dict[str, float]:
    from sketchpad.process import self_command

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="sketchpad-selftest-") as tmp:
        data = _tiny_pairs(Path(tmp) / "pairs")
        program, args = self_command(
            "train",
            "--data",
            f"paired:{data}",
            "--out",
            str(Path(tmp) / "run"),
            "--progress",
            "jsonl",
            "--device",
            "cpu",
            *TINY_TRAINING,
        )
        env = dict(os.environ, SKETCHPAD_CACHE_DIR=str(Path(tmp) / "cache"))
        proc = subprocess.run(
            [program, *args], capture_output=True, text=True, timeout=600, env=env
        )
        lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
        if proc.returncode != 0 or not lines or lines[-1].get("event") != "done":
            detail = lines[-1].get("message") if lines else proc.stderr.strip()[-500:]
            raise SelfTestError(f"the training child failed (exit {proc.returncode}): {detail}")
        if not Path(lines[-1]["model"]).is_file():
            raise SelfTestError("the training child exported no model")
    return {"train_ms": (time.perf_counter() - t0) * 1000}


def run_self_test() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        timings = {**_check_generation(), **_check_training()}
    except Exception as exc:  # report whatever broke, as one line
        print(f"self-test FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    parts = ", ".join(f"{k[:-3]} {v:.0f} ms" for k, v in timings.items())
    print(f"self-test ok: {parts}")
    return 0
