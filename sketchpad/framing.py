"""Fitting a drawing to the frame the model learned: people draw small, off-centre and with a
pen thicker than the training data's lines; the model paints best what looks like its data.

`choose_frame` finds the square of the canvas that, enlarged to the model's input, puts a
small drawing where an OpenMoji drawing sits (centred, its ink box `TARGET_SIDE` of the frame),
and how much to thin the enlarged strokes (enlarging fattens them): by half of what the
enlargement added beyond the width they were drawn at, or the data's where that is wider.
`crop` cuts that square out of an ink or hint snapshot at any resolution; `paste` puts the
painted square back on white paper at its place, so the picture lands where the person drew
it (from 1.3× to 1.6× the enlargement and the move grow gradually, so a drawing growing past
the threshold does not jump). A drawing as large as the data's (its box at least 1 / `MIN_ZOOM`
of `TARGET_SIDE`) is left as drawn (the frame is None): the model knows large drawings off the
middle, and moving one costs more than it gives.

The numbers are measured on the OpenMoji training split at 128 px (ink above 0.25): the ink
box's longer side is 0.63-0.89 of the frame (5th-95th percentile, median 0.76), its centre
within 0.04 of the middle; stroke width (`stroke_width`) 3.2-4.4 px, median 3.4.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

INK = 0.25
"""Ink above this counts towards the drawing's box."""
TARGET_SIDE = 0.76
"""The longer side of a training drawing's ink box, as a share of the frame (median)."""
TARGET_WIDTH = 3.43 / 128
"""A training drawing's stroke width (median), as a share of the frame."""
FULL_ZOOM = 1.6
"""From `MIN_ZOOM` to this, the enlargement and the move to the middle grow gradually to the
full amount, so that a drawing growing stroke by stroke past the threshold does not jump
between two ways of painting it."""
MIN_ZOOM = 1.3
"""A drawing that would be enlarged less than this (its box above 0.58 of the canvas, as
nearly all the data's are) is left at its size."""
MAX_ZOOM = 3.0
"""The most a drawing is enlarged (a dot is not blown up to fill the frame)."""
THIN_SHARE = 0.5
"""The share of the width the enlargement added that thinning takes off again. On the
validation split drawn as people draw, today's model's PSNR gain over the identity baseline was
0.70× the clean gain without thinning and 1.00, 1.03, 1.01 and 0.99× with shares of 0.25, 0.5,
0.75 and 1 (and crisper edges after the enlargement made it worse: 0.94 at a share of 1)."""
FEATHER = 0.06
"""The outer share of the frame over which a pasted picture fades into the paper, so what a
model paints at the frame's edge is not cut off sharply (the drawing keeps 0.12 of the frame
clear on every side)."""
MAX_THIN = 3.0
"""The most pixels per side a stroke is thinned, at 128 px (as `Frame.thin`; scaled for
other resolutions)."""


@dataclass(frozen=True)
class Frame:
    """The square of the canvas the model sees: its centre (`y`, `x`) and `side` as shares of
    the canvas (side < 1 enlarges), and `thin`: pixels per side to take off the strokes once
    enlarged, at a resolution of `TARGET_WIDTH`'s 128 px (scaled for other resolutions)."""

    y: float
    x: float
    side: float
    thin: float = 0.0

    @property
    def zoom(self) -> float:
        return 1.0 / self.side

    def contains(self, y: float, x: float) -> bool:
        """Whether a point of the canvas (shares) lies in the frame."""
        half = self.side / 2
        return abs(y - self.y) <= half and abs(x - self.x) <= half

    def to_frame(self, y: float, x: float) -> tuple[float, float]:
        """A point of the canvas (shares) in the frame's shares, clamped to the frame."""

        def one(v: float, centre: float) -> float:
            return min(1.0, max(0.0, (v - centre) / self.side + 0.5))

        return one(y, self.y), one(x, self.x)


def ink_box(ink: torch.Tensor) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) pixel rows and columns (inclusive) of the ink above `INK` in
    a (1, R, R) or (R, R) snapshot; None for an empty one."""
    mask = ink.reshape(ink.shape[-2:]) > INK
    rows, cols = torch.where(mask.any(1))[0], torch.where(mask.any(0))[0]
    if rows.numel() == 0:
        return None
    return int(rows[0]), int(rows[-1]), int(cols[0]), int(cols[-1])


def stroke_width(ink: torch.Tensor) -> float:
    """The mean stroke width in pixels of a (.., R, R) ink snapshot: twice the ink's area over
    its outline's length (the total variation), exact for long strokes and blind to blur."""
    x = ink.reshape(ink.shape[-2:]).float()
    gy = x[1:, :-1] - x[:-1, :-1]
    gx = x[:-1, 1:] - x[:-1, :-1]
    outline = torch.sqrt(gx * gx + gy * gy).sum().item()
    if outline <= 0:
        return 0.0
    return 2.0 * x.sum().item() / outline


def choose_frame(ink: torch.Tensor) -> Frame | None:
    """The frame for a (1, R, R) ink snapshot (1 = ink), or None when the drawing already sits
    as the model's data does (or there is no ink)."""
    box = ink_box(ink)
    if box is None:
        return None
    size = ink.shape[-1]
    top, bottom, left, right = box
    longer = max(bottom - top, right - left) + 1
    zoom = min(MAX_ZOOM, TARGET_SIDE * size / longer)
    y, x = (top + bottom + 1) / (2 * size), (left + right + 1) / (2 * size)
    if zoom <= MIN_ZOOM:  # as large as the data's: left where it is (the model knows
        return None  # large drawings off the middle; moving one costs more than it gives)
    share = min(1.0, (zoom - MIN_ZOOM) / (FULL_ZOOM - MIN_ZOOM))
    zoom = 1.0 + (zoom - 1.0) * share
    y, x = 0.5 + (y - 0.5) * share, 0.5 + (x - 0.5) * share
    drawn = stroke_width(ink) * 128 / size  # at 128 px
    extra = THIN_SHARE * (zoom * drawn - max(TARGET_WIDTH * 128, drawn)) / 2
    thin = min(MAX_THIN, extra) if extra > 0.25 else 0.0
    return Frame(y, x, 1.0 / zoom, thin)


def _moves(frame: Frame) -> bool:
    return not (frame.side == 1.0 and frame.y == 0.5 and frame.x == 0.5)


def crop(x: torch.Tensor, frame: Frame, size: int | None = None) -> torch.Tensor:
    """The frame's square of `x` (B, C, S, S) resampled to `size` (default S); outside the
    canvas reads 0 (no ink, no hint)."""
    size = size or x.shape[-1]
    if not _moves(frame):
        return x if size == x.shape[-1] else F.interpolate(x, size=size, mode="bilinear")
    s = frame.side
    theta = torch.tensor(
        [[[s, 0.0, 2 * frame.x - 1], [0.0, s, 2 * frame.y - 1]]], device=x.device
    ).expand(x.shape[0], -1, -1)
    grid = F.affine_grid(theta, [x.shape[0], x.shape[1], size, size], align_corners=False)
    return F.grid_sample(
        x.float(), grid, mode="bilinear", padding_mode="zeros", align_corners=False
    ).to(x.dtype)


def crop_hints(hints: torch.Tensor, frame: Frame) -> torch.Tensor:
    """Colour-hint channels (B, 4, S, S) (colour × mask, then mask) cut to the frame at their
    size, the mask kept 0 or 1 as training's (a pixel is hinted when its hinted share is at
    least half), the colour that of the hinted part."""
    cut = crop(hints.float(), frame)
    share = cut[:, 3:]
    keep = (share >= 0.5).to(cut.dtype)
    colour = cut[:, :3] / share.clamp_min(1e-6) * keep
    return torch.cat([colour.clamp(-1.0, 1.0), keep], dim=1).to(hints.dtype)


def hints_outside(hints: torch.Tensor, frame: Frame) -> bool:
    """Whether a (4, S, S) hint snapshot dabs colour outside the frame (a drawing with such
    hints is painted as drawn: the dab would be lost, a coloured paper cut to a square)."""
    mask = hints[3] > 0
    top, bottom, left, right = _covered(frame, mask.shape[-1])
    inside = mask[top:bottom, left:right].sum()
    return bool(mask.sum() > inside)


def fit(
    sketch: torch.Tensor, hints: torch.Tensor | None = None
) -> tuple[Frame | None, torch.Tensor, torch.Tensor | None]:
    """(frame, sketch, hints): a (C, R, R) sketch snapshot (ink first) and its (4, H, W) hints
    as the model should see them, fitted to the frame when the drawing is small (and no hint
    lies outside the frame), else as they are with frame None."""
    frame = choose_frame(sketch[:1])
    if frame is not None and hints is not None and hints_outside(hints, frame):
        frame = None
    if frame is None:
        return None, sketch, hints
    out = sketch.float().clone()
    out[:1] = frame_ink(sketch[None, :1].float(), frame)[0]
    if sketch.shape[0] > 1:
        out[1:] = crop(sketch[None, 1:].float(), frame)[0]
    if hints is not None:
        hints = crop_hints(hints[None].float(), frame)[0]
    return frame, out.to(sketch.dtype), hints


def paste_each(pictures: torch.Tensor, frames: list[Frame | None]) -> torch.Tensor:
    """A batch of pictures (B, C, r, r), each painted in its own frame (None: as drawn), each
    put back where its drawing is (`paste`)."""
    return torch.cat(
        [p[None] if f is None else paste(p[None], f) for p, f in zip(pictures, frames, strict=True)]
    )


def frame_ink(ink: torch.Tensor, frame: Frame, size: int | None = None) -> torch.Tensor:
    """The ink (B, 1, S, S) as the model should see it: cropped to the frame at `size` and its
    strokes thinned by `frame.thin`."""
    out = crop(ink, frame, size)
    if frame.thin > 0:
        out = thin(out, frame.thin * out.shape[-1] / 128)
    return out


def thin(ink: torch.Tensor, pixels: float) -> torch.Tensor:
    """Strokes of (B, 1, S, S) ink thinned by `pixels` per side, a fraction blended: what
    `change_thickness(ink, -pixels)` gives by 3×3 steps, as one square min-filter in two
    separable passes of shifted minima (a 512 px full sketch is thinned by several pixels;
    CPU max-pooling with wide windows is several times slower)."""
    steps, fraction = divmod(pixels, 1.0)
    x = ink
    if int(steps):
        x = _min_filter(_min_filter(x, int(steps), -1), int(steps), -2)
    if fraction > 0:
        x = x + fraction * (_min_filter(_min_filter(x, 1, -1), 1, -2) - x)
    return x


def _min_filter(x: torch.Tensor, k: int, dim: int) -> torch.Tensor:
    """The minimum over a window of 2k + 1 along `dim` (-1 or -2), outside reading +inf."""
    padded = F.pad(x, (k, k) if dim == -1 else (0, 0, k, k), value=float("inf"))
    n = x.shape[dim]
    out = padded.narrow(dim, 0, n)
    for i in range(1, 2 * k + 1):
        out = torch.minimum(out, padded.narrow(dim, i, n))
    return out


def paste(
    picture: torch.Tensor,
    frame: Frame,
    size: int | None = None,
    paper: float = 1.0,
    feather: float = FEATHER,
) -> torch.Tensor:
    """The painted frame `picture` (B, C, r, r) put back at its place on a canvas of `size`
    (default r) filled with `paper` (1 = white in [-1, 1] pictures; 0 for maps), fading into
    it over the frame's outer `feather` share."""
    size = size or picture.shape[-1]
    if not _moves(frame):
        if size == picture.shape[-1]:
            return picture
        return F.interpolate(picture, size=size, mode="bilinear", antialias=True)
    side_px = max(1, round(frame.side * size))
    small = picture.float()
    if side_px < picture.shape[-1]:  # shrink with antialiasing, then place to the subpixel
        small = F.interpolate(small, size=side_px, mode="bilinear", antialias=True)
    small = small - paper
    if feather > 0:
        n = small.shape[-1]
        u = (torch.arange(n, device=small.device) + 0.5) / n
        ramp = (torch.minimum(u, 1 - u) / feather).clamp(max=1.0)
        small = small * (ramp[:, None] * ramp[None, :])
    # sample the canvas pixels the frame covers, only those (the rest is paper)
    top, bottom, left, right = _covered(frame, size)
    ys = ((torch.arange(top, bottom, device=small.device) + 0.5) / size - frame.y) * 2 / frame.side
    xs = ((torch.arange(left, right, device=small.device) + 0.5) / size - frame.x) * 2 / frame.side
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)  # (h, w, (x, y))
    grid = grid[None].expand(small.shape[0], -1, -1, -1)
    region = F.grid_sample(small, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    out = torch.full(
        (*picture.shape[:2], size, size), paper, dtype=torch.float32, device=picture.device
    )
    out[..., top:bottom, left:right] += region
    return out.to(picture.dtype)


def _covered(frame: Frame, size: int) -> tuple[int, int, int, int]:
    """(top, bottom, left, right): the canvas pixel rows and columns (end exclusive) that
    the frame touches."""

    def span(centre: float) -> tuple[int, int]:
        lo = math.floor((centre - frame.side / 2) * size)
        hi = math.ceil((centre + frame.side / 2) * size)
        return max(0, lo), min(size, hi)

    (top, bottom), (left, right) = span(frame.y), span(frame.x)
    return top, max(top, bottom), left, max(left, right)


def paste_weights(weights: torch.Tensor, frame: Frame) -> torch.Tensor:
    """Attention weights (H, W) over the frame put back on the canvas's (H, W) grid, summing
    to 1 again."""
    placed = paste(weights[None, None].float(), frame, weights.shape[-1], 0.0, feather=0.0)[0, 0]
    placed = placed.clamp_min(0.0)
    total = placed.sum()
    return placed / total if total > 0 else placed


def describe(frame: Frame | None) -> str:
    """A few words for a status line: "small drawing enlarged 2.1×, strokes thinned" or
    "as drawn"."""
    if frame is None:
        return "as drawn"
    parts = []
    if frame.side != 1.0:
        parts.append(f"small drawing enlarged {frame.zoom:.1f}×")
    if frame.thin > 0:
        parts.append("strokes thinned")
    return ", ".join(parts) if parts else "as drawn"


__all__ = [
    "Frame",
    "choose_frame",
    "crop",
    "crop_hints",
    "describe",
    "fit",
    "frame_ink",
    "hints_outside",
    "ink_box",
    "paste",
    "paste_weights",
    "stroke_width",
]
