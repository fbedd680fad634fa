"""Tiny data and configs shared by the trainer tests."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from sketchpad.selftest import TINY_NETWORK

ROOT = Path(__file__).resolve().parent.parent

TINY_FLAGS = [
    *TINY_NETWORK,
    *("--log-every", "1", "--sample-every", "2", "--eval-limit", "4", "--sample-count", "2"),
    *("--precision", "fp32"),
]


def make_paired(root: Path, count: int = 10, size: int = 40) -> Path:
    """sketches/NAME.png (black shapes' outlines on white) and images/NAME.png (filled)."""
    rng = np.random.default_rng(0)
    (root / "sketches").mkdir(parents=True)
    (root / "images").mkdir(parents=True)
    for i in range(count):
        x0, y0 = rng.integers(2, size // 2, 2)
        x1, y1 = x0 + rng.integers(8, size // 2), y0 + rng.integers(8, size // 2)
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        sketch = Image.new("RGB", (size, size), "white")
        ImageDraw.Draw(sketch).ellipse((x0, y0, x1, y1), outline="black", width=2)
        image = Image.new("RGB", (size, size), "white")
        ImageDraw.Draw(image).ellipse((x0, y0, x1, y1), fill=colour, outline="black", width=2)
        sketch.save(root / "sketches" / f"s{i:02d}.png")
        image.save(root / "images" / f"s{i:02d}.png")
    return root


def cli_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["SKETCHPAD_CACHE_DIR"] = str(tmp_path / "cache")
    env["SKETCHPAD_DATA_DIR"] = str(tmp_path / "data")
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["OMP_NUM_THREADS"] = "1"
    return env


PYTHON = sys.executable
