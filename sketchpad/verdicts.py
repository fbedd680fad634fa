"""What the app draws over the result, as plain numbers: the discriminator's per-patch verdicts
and the generator's attention, mapped to image pixels and coloured. NumPy only, no Qt; the
widgets just paint the arrays made here.

Coordinates are model-resolution pixels. Integer indices name pixels (as in
`ReceptiveField.window`); a continuous position (y, x) in [0, R) lies in pixel
(floor(y), floor(x)).

Cells overlap. Every output cell of a PatchGAN branch sees a window of `field.size` pixels,
and neighbouring windows are only `field.jump` pixels apart, so a pixel lies in several
windows. To hover or colour a pixel we pick the one cell whose window *centre* is nearest (per
axis: centre of cell i = `field.start + i * field.jump`); the cells so tile the image without
gaps or overlaps, and the rectangle drawn for the hovered cell is its full window from the
receptive-field calculator (`field.window(i, j)`, clipped to the image).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from models.receptive_field import ReceptiveField

COMBINED = "combined"
"""The view that averages every branch."""
COMBINED_LABEL = "all branches (mean)"
VERDICT_CAPTION = "probability the patch looks real, per the discriminator"

# Diverging blue (fake) → white (undecided) → orange (real): ColorBrewer's RdBu blues and
# PuOr oranges, told apart by people with any of the common colour-vision deficiencies.
VERDICT_ANCHORS = np.array(
    [(33, 102, 172), (146, 197, 222), (247, 247, 247), (253, 184, 99), (230, 97, 1)], np.float64
)
# Purple → blue → cyan for the attention: no yellow or orange in it, so it reads on the yellow
# faces the default model paints; lightness grows with the weight.
ATTENTION_ANCHORS = np.array(
    [(63, 0, 125), (84, 39, 143), (49, 54, 149), (33, 102, 172), (0, 158, 215), (0, 235, 255)],
    np.float64,
)
MIN_SPREAD = 0.05
"""The smallest deviation from the median the verdict map gives full colour: differences
smaller than this stay faint, so noise in an undecided map does not look like an opinion."""

Window = tuple[int, int, int, int]  # (top, left, bottom, right), bottom/right exclusive


@dataclass(frozen=True)
class Branch:
    """One output map of the discriminator: its label ("70 px patches", "global") and the
    receptive field of its cells on the model-resolution image."""

    label: str
    field: ReceptiveField

    @property
    def is_global(self) -> bool:
        return self.field.output_size == (1, 1) and self.field.is_global


@dataclass(frozen=True)
class Cell:
    """One hovered output cell: which branch, which cell, its score and its clipped window."""

    branch: str
    index: tuple[int, int]
    score: float
    window: Window
    is_global: bool = False


# -- colour -----------------------------------------------------------------------------------


def colorize(values: np.ndarray, anchors: np.ndarray = VERDICT_ANCHORS) -> np.ndarray:
    """Values in [0, 1] (clipped) → uint8 RGB, shape (..., 3), interpolating evenly spaced
    colour anchors."""
    v = np.clip(np.asarray(values, np.float64), 0.0, 1.0)
    stops = np.linspace(0.0, 1.0, len(anchors))
    rgb = np.stack([np.interp(v, stops, anchors[:, c]) for c in range(3)], axis=-1)
    return np.rint(rgb).astype(np.uint8)


def verdict_color(score: float) -> tuple[int, int, int]:
    """The overlay's colour for one probability of "real"."""
    r, g, b = colorize(np.array([score]))[0]
    return int(r), int(g), int(b)


def verdict_word(score: float) -> str:
    if score >= 0.6:
        return "looks real"
    if score <= 0.4:
        return "looks fake"
    return "undecided"


# -- cells and pixels -------------------------------------------------------------------------


def _nearest(coords: np.ndarray, start: float, jump: int, n: int) -> np.ndarray:
    """Index of the cell whose centre is nearest to each pixel index in `coords`."""
    idx = np.floor((coords - start) / jump + 0.5)
    return np.clip(idx, 0, n - 1).astype(np.int64)


def cell_at(field: ReceptiveField, y: float, x: float) -> tuple[int, int]:
    """The output cell whose window centre is nearest to the continuous position (y, x)."""
    oh, ow = field.output_size
    i = _nearest(np.array([math.floor(y)], np.float64), field.start, field.jump, oh)[0]
    j = _nearest(np.array([math.floor(x)], np.float64), field.start, field.jump, ow)[0]
    return int(i), int(j)


def cell_centre(field: ReceptiveField, i: int, j: int) -> tuple[int, int]:
    """The pixel at the centre of cell (i, j)'s window, clamped into the image."""
    h, w = field.input_size
    cy = min(max(round(field.start + i * field.jump), 0), h - 1)
    cx = min(max(round(field.start + j * field.jump), 0), w - 1)
    return cy, cx


def pixel_map(probs: np.ndarray, field: ReceptiveField) -> np.ndarray:
    """(h, w) per-cell probabilities → (H, W) per pixel, each pixel taking the value of the
    cell whose window centre is nearest (a global branch fills the image with its score)."""
    oh, ow = field.output_size
    if probs.shape != (oh, ow):
        raise ValueError(f"verdict map {probs.shape} does not match the field's {(oh, ow)}")
    h, w = field.input_size
    rows = _nearest(np.arange(h, dtype=np.float64), field.start, field.jump, oh)
    cols = _nearest(np.arange(w, dtype=np.float64), field.start, field.jump, ow)
    return probs[rows[:, None], cols[None, :]].astype(np.float32)


def combined_map(verdicts: list[np.ndarray], branches: list[Branch]) -> np.ndarray:
    """Per pixel, the mean over branches of the probability that the patch covering it looks
    real (each branch resampled to the image by `pixel_map`)."""
    if not verdicts:
        raise ValueError("no verdicts to combine")
    maps = [pixel_map(p, b.field) for p, b in zip(verdicts, branches, strict=True)]
    return np.mean(maps, axis=0).astype(np.float32)


def cells_at(verdicts: list[np.ndarray], branches: list[Branch], y: float, x: float) -> list[Cell]:
    """For every branch, the cell under (y, x): its score and clipped receptive-field window."""
    cells = []
    for probs, branch in zip(verdicts, branches, strict=True):
        i, j = cell_at(branch.field, y, x)
        cells.append(
            Cell(
                branch.label,
                (i, j),
                float(probs[i, j]),
                branch.field.window(i, j),
                branch.is_global,
            )
        )
    return cells


def describe_cells(cells: list[Cell]) -> str:
    """One line for the status bar about the hovered cell(s)."""
    if not cells:
        return ""
    if len(cells) == 1:
        c = cells[0]
        top, left, bottom, right = c.window
        i, j = c.index
        where = (
            "sees the whole image"
            if c.is_global
            else f"cell ({i}, {j}) sees x {left}–{right - 1}, y {top}–{bottom - 1}"
        )
        return f"{c.branch}: {c.score:.2f} probability real ({verdict_word(c.score)}); {where}"
    mean = sum(c.score for c in cells) / len(cells)
    parts = " · ".join(f"{c.branch} {c.score:.2f}" for c in cells)
    return f"{parts} — mean {mean:.2f} probability real ({verdict_word(mean)})"


def verdict_scale(values: np.ndarray) -> tuple[float, float]:
    """(median, spread) of a verdict map: the diverging colour map is centred on the median
    (most patches get about the same score, often near 0.5) and gives full colour at `spread`
    from it: the 95th percentile of the deviations, at least `MIN_SPREAD`."""
    v = np.asarray(values, np.float64)
    median = float(np.median(v))
    spread = float(np.percentile(np.abs(v - median), 95)) if v.size else 0.0
    return median, max(spread, MIN_SPREAD)


def centred_rgba(
    values: np.ndarray, median: float, spread: float, anchors: np.ndarray = VERDICT_ANCHORS
) -> np.ndarray:
    """(H, W) verdicts → (H, W, 4) uint8 RGBA of how far each lies from `median`: blue below,
    orange above, full colour at `spread` away and beyond, and transparent at the median so
    that the picture shows where the discriminator has nothing particular to say."""
    d = np.clip((np.asarray(values, np.float64) - median) / spread, -1.0, 1.0)
    rgb = colorize((d + 1) / 2, anchors)
    alpha = np.rint(255 * np.abs(d) ** 0.7).astype(np.uint8)[..., None]
    return np.ascontiguousarray(np.concatenate([rgb, alpha], axis=-1))


def overlay_rgba(values: np.ndarray) -> np.ndarray:
    """The verdict layer of a map: `centred_rgba` about the map's own median and spread."""
    return centred_rgba(values, *verdict_scale(values))


# -- attention --------------------------------------------------------------------------------


def level_label(shape: tuple[int, int]) -> str:
    """A name for an attention level by its feature-map size, e.g. "16×16 features"."""
    return f"{shape[0]}×{shape[1]} features"


def probe_cell(probe: tuple[float, float], shape: tuple[int, int]) -> tuple[int, int]:
    """The feature position the generator probes for (y, x) image fractions (as it does)."""
    h, w = shape
    return min(int(probe[0] * h), h - 1), min(int(probe[1] * w), w - 1)


def feature_rect(
    index: tuple[int, int], shape: tuple[int, int], resolution: int
) -> tuple[float, float, float, float]:
    """(top, left, bottom, right) in image pixels of one feature position of an (h, w) map."""
    h, w = shape
    i, j = index
    return (
        i * resolution / h,
        j * resolution / w,
        (i + 1) * resolution / h,
        (j + 1) * resolution / w,
    )


def attention_pixels(weights: np.ndarray, resolution: int) -> np.ndarray:
    """(h, w) attention weights (summing to 1) → (R, R) in [0, 1], scaled so that the most
    attended position is 1; every feature position covers its block of image pixels."""
    h, w = weights.shape
    rows = np.arange(resolution) * h // resolution
    cols = np.arange(resolution) * w // resolution
    up = weights[rows[:, None], cols[None, :]].astype(np.float64)
    top = float(up.max())
    return (up / top if top > 0 else up).astype(np.float32)


def attention_rgba(weights: np.ndarray, resolution: int) -> np.ndarray:
    """The attention heatmap as (R, R, 4) RGBA: purple to cyan, and alpha growing from zero
    with the weight so that the picture shows through where the attention did not look."""
    return weight_rgba(attention_pixels(weights, resolution))


def weight_rgba(values: np.ndarray) -> np.ndarray:
    """Relative attention weights in [0, 1] → uint8 RGBA, shape (..., 4)."""
    v = np.clip(np.asarray(values, np.float64), 0.0, 1.0)
    rgb = colorize(v, ATTENTION_ANCHORS)
    alpha = np.rint(255 * v**0.75).astype(np.uint8)[..., None]  # faint weights stay faint
    return np.ascontiguousarray(np.concatenate([rgb, alpha], axis=-1))
