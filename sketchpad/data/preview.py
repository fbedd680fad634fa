"""Contact sheets: (sketch | target) pairs exactly as the trainer sees them (with their colour
hints dabbed over the sketch when the dataset samples hints), and what a data source turned
out to be (`DataSummary`, for the line under the Train tab's data chooser)."""

from __future__ import annotations

import html
import math
import random
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from sketchpad.data.dataset import PairDataset
from sketchpad.data.hints import rgba_from_hints
from sketchpad.sketch import sketch_tensor_to_rgb, tensor_to_rgb

GAP = 4
BACKGROUND = (128, 128, 128)


def make_contact_sheet(dataset: PairDataset, count: int = 16, seed: int = 0) -> Image.Image:
    """A grid of `count` pairs picked by `seed`: each cell is the sketch (black on white) beside
    its target, after normalisation and the dataset's augmentation for its current epoch. An
    item with hints has its dabs painted over the sketch, in their colours."""
    n = min(max(count, 1), len(dataset))
    indices = sorted(random.Random(seed).sample(range(len(dataset)), n))
    r = dataset.resolution
    columns = max(1, round(math.sqrt(n / 2) * 1.4)) if n > 2 else n
    rows = math.ceil(n / columns)
    cell_w, cell_h = 2 * r + GAP, r
    sheet = Image.new(
        "RGB", (columns * (cell_w + GAP) + GAP, rows * (cell_h + GAP) + GAP), BACKGROUND
    )
    for slot, index in enumerate(indices):
        item = dataset[index]
        pair = np.full((r, 2 * r + GAP, 3), 255, dtype=np.uint8)
        pair[:, :r] = sketch_with_hints(item["sketch"], item.get("hints"))
        pair[:, r + GAP :] = tensor_to_rgb(item["image"])
        row, column = divmod(slot, columns)
        sheet.paste(
            Image.fromarray(pair), (GAP + column * (cell_w + GAP), GAP + row * (cell_h + GAP))
        )
    return sheet


def sketch_with_hints(sketch: torch.Tensor, hints: torch.Tensor | None) -> np.ndarray:
    """The sketch as black on white (R, R, 3) uint8, the hint dabs (if any) painted over it."""
    rgb = sketch_tensor_to_rgb(sketch)
    if hints is None:
        return rgb
    dabs = rgba_from_hints(hints)  # (R, R, 4)
    hinted = dabs[..., 3] > 0
    rgb[hinted] = dabs[..., :3][hinted]
    return rgb


KIND_NAMES = {"openmoji": "OpenMoji"}
"""How a data kind is written where it is not just capitalised."""


@dataclass(frozen=True)
class DataSummary:
    """What a data source turned out to be (for the info line under the chooser)."""

    kind: str
    detected: bool
    detection: str | None
    counts: dict[str, int]
    skipped: list[tuple[str, str]]
    description: str
    """The dataset's report, every skipped file listed (up to `SKIPPED_LISTED`): the tooltip."""

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def text(self) -> str:
        how = f" — detected: {self.detection}" if self.detected and self.detection else ""
        counts = ", ".join(f"{name} {n}" for name, n in self.counts.items())
        skipped = len(self.skipped)
        files = "file" if skipped == 1 else "files"
        return (
            f"<b>{html.escape(KIND_NAMES.get(self.kind, self.kind.capitalize()))}</b>"
            f"{html.escape(how)}<br>"
            f"{self.total} pairs ({html.escape(counts)}) · {skipped} {files} skipped"
        )
