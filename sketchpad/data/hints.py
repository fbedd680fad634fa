"""Colour hints sampled from a training target, as a user dabs them on the canvas (the anchor:
Zhang et al. 2017, "Real-Time User-Guided Image Colorization with Learned Deep Priors").

A hint is a hint colour (3, R, R) in [-1, 1] and a hint mask (1, R, R) in {0, 1}: where the
mask is 1 the user asked for that colour. The distribution, per training item:

- the number of dabs is geometric on {0, 1, 2, ...}: P(n) = p (1 - p)^n with p = `p_none`
  (1/8 by default, Zhang et al.'s choice: one item in eight has no hint, so the model keeps
  working without them; the mean is (1 - p) / p = 7, and 16 or more dabs come about one time
  in eight), capped at `max_dabs`;
- each dab is a round blob (40%; radius 2–5 px at 128 px), a short stroke (30%; a random walk
  of 3–8 steps of 2–4 px, 1–3 px thick) or a long brush stroke (30%; 6–16 steps, 3–8 px
  thick, turning gently), as people dab and scribble colour; sizes scale with the resolution;
- it is centred on a coloured pixel of the target (neither paper-white nor line-black),
  chosen uniformly; where the target has none, there is no dab;
- it keeps to the region of its centre's colour (pixels within 0.25 of it), spilling one
  pixel over the region's edge (onto its outline) as a hand does; its colour is the target's
  mean colour over the region's pixels under it.

With probability `p_background` (0 unless asked for) an item also gets a coloured paper: the
paper connected to the picture's border is tinted one colour (a random hue, saturation
0.2–0.7, value 0.75–1; the line pixels at its edge are tinted alike, as paper shows through
their anti-aliasing), and one more dab lies on it. The target's paper is coloured only then,
so a model learns to fill the paper around a drawing (a sky, a lawn) where a user dabs colour
on it, and to leave it white otherwise. Paper enclosed by lines is left as it is.

Hints are sampled from the target after augmentation, so they move with it (rotation, scale,
shift, flip). Every draw comes from the item's own generator (`hint_generator`, keyed by
seed, epoch and index like the augmentation, but salted, so hints never change what the
augmentation draws).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from models.config import HINT_CHANNELS
from sketchpad.errors import ConfigError

PAPER_LEVEL = 0.92  # a pixel whose channels are all above this (in [0, 1]) is paper
INK_LEVEL = 0.22  # and one whose channels are all below this is a line


@dataclass(frozen=True)
class HintConfig:
    p_none: float = 0.125  # P(no dab); the dab count is geometric with this parameter
    max_dabs: int = 32  # the most dabs one item gets
    p_background: float = 0.0  # P(the paper around the drawing is coloured, with a dab on it)

    def __post_init__(self) -> None:
        if not 0.0 < self.p_none <= 1.0:
            raise ConfigError(f"hints p_none must be in (0, 1], got {self.p_none}")
        if not 0 <= self.max_dabs <= 256:
            raise ConfigError(f"hints max_dabs must be 0..256, got {self.max_dabs}")
        if not 0.0 <= self.p_background <= 1.0:
            raise ConfigError(f"hints p_background must be in [0, 1], got {self.p_background}")


def hint_generator(seed: int, epoch: int, index: int) -> torch.Generator:
    """The hints' own generator for one item in one epoch."""
    digest = hashlib.blake2b(f"hints:{seed}:{epoch}:{index}".encode(), digest_size=8).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest, "little") & (2**63 - 1))


def background_generator(seed: int, epoch: int, index: int) -> torch.Generator:
    """The coloured paper's own generator for one item in one epoch (apart from the hints', so
    turning it on changes no hint)."""
    digest = hashlib.blake2b(f"paper:{seed}:{epoch}:{index}".encode(), digest_size=8).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest, "little") & (2**63 - 1))


def outer_paper(image: torch.Tensor) -> torch.Tensor:
    """(R, R) bool: the paper pixels of `image` ((3, R, R) in [-1, 1]) connected to its border
    (4-connected), the paper around the drawing rather than inside its shapes."""
    paper = ((image + 1.0) / 2.0 > PAPER_LEVEL).all(dim=0)
    seen = torch.zeros_like(paper)
    seen[0, :], seen[-1, :], seen[:, 0], seen[:, -1] = (
        paper[0],
        paper[-1],
        paper[:, 0],
        paper[:, -1],
    )
    cross = torch.tensor([[0.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 0.0]])[None, None]
    paper_f = paper.float()[None, None]
    while True:
        grown = (F.conv2d(seen.float()[None, None], cross, padding=1) > 0) & (paper_f > 0)
        grown = grown[0, 0]
        if torch.equal(grown, seen):
            return seen
        seen = grown


def paint_background(
    image: torch.Tensor, generator: torch.Generator, config: HintConfig
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(the target, the coloured paper's pixels or None): with probability `p_background` the
    paper around the drawing tinted one colour (see the module's docstring). Four draws,
    always."""
    u = torch.rand(4, generator=generator).tolist()
    if u[0] >= config.p_background:
        return image, None
    paper = outer_paper(image)
    if not paper.any():
        return image, None
    hue, sat, val = u[1], 0.2 + 0.5 * u[2], 0.75 + 0.25 * u[3]
    tint = torch.tensor(_hsv_to_rgb(hue, sat, val), dtype=image.dtype)  # in [0, 1]
    edge = F.max_pool2d(paper.float()[None, None], 3, 1, 1)[0, 0] > 0  # and the lines' fringe
    rgb = (image + 1.0) / 2.0
    painted = torch.where(edge[None], rgb * tint[:, None, None], rgb)
    return painted * 2.0 - 1.0, paper


def _hsv_to_rgb(h: float, s: float, v: float) -> tuple[float, float, float]:
    i = int(h * 6.0) % 6
    f = h * 6.0 - int(h * 6.0)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    return [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]


def coloured_pixels(image: torch.Tensor) -> torch.Tensor:
    """(R, R) bool: the pixels of `image` ((3, R, R) in [-1, 1]) that are neither paper nor
    line, where a user would put a colour."""
    rgb = (image + 1.0) / 2.0
    paper = (rgb > PAPER_LEVEL).all(dim=0)
    ink = (rgb < INK_LEVEL).all(dim=0)
    return ~(paper | ink)


def dab_count(generator: torch.Generator, config: HintConfig) -> int:
    """Geometric on {0, 1, ...} with P(0) = p_none, by inversion of one uniform draw."""
    u = float(torch.rand(1, generator=generator))
    if config.p_none >= 1.0:
        return 0
    n = math.floor(math.log(max(1.0 - u, 1e-12)) / math.log(1.0 - config.p_none))
    return min(n, config.max_dabs)


SAME_COLOUR = 0.25
"""A dab stays in the region of its centre's colour: pixels within this (per channel, in
[-1, 1]) of it."""


def sample_hints(
    image: torch.Tensor,
    generator: torch.Generator,
    config: HintConfig | None = None,
    count: int | None = None,
    centres: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(hint colour (3, R, R) in [-1, 1], 0 where no hint; hint mask (1, R, R)) for the target
    `image` ((3, R, R) in [-1, 1]). `count` fixes the number of dabs (evaluation with N
    hints) instead of drawing it; `centres` ((R, R) bool) keeps the dabs' centres there."""
    config = config or HintConfig()
    size = image.shape[-1]
    n = dab_count(generator, config) if count is None else count
    colour = torch.zeros_like(image)
    mask = torch.zeros(1, size, size, dtype=image.dtype)
    allowed = coloured_pixels(image)
    where = (allowed if centres is None else allowed & centres).flatten().nonzero().flatten()
    unit = size / 128.0
    spill = max(1, round(unit))
    yy, xx = torch.meshgrid(
        torch.arange(size, dtype=torch.float32),
        torch.arange(size, dtype=torch.float32),
        indexing="ij",
    )
    for _ in range(n):
        u = torch.rand(8, generator=generator).tolist()  # fixed draws per dab, used or not
        if where.numel() == 0:
            continue
        centre = int(where[min(int(u[0] * where.numel()), where.numel() - 1)])
        cy, cx = float(centre // size), float(centre % size)
        if u[1] < 0.4:  # a blob
            radius = (2.0 + 3.0 * u[2]) * unit
            footprint = (yy - cy) ** 2 + (xx - cx) ** 2 <= radius**2
        else:  # a stroke: a random walk of round brush dabs, short or long
            long = u[1] >= 0.7
            steps = (6 + int(u[3] * 11)) if long else (3 + int(u[3] * 6))
            length = (2.0 + 2.0 * u[4]) * unit
            radius = ((1.5 + 2.5 * u[5]) if long else (0.5 + 1.0 * u[5])) * unit
            heading = 2 * math.pi * u[6]
            footprint = torch.zeros(size, size, dtype=torch.bool)
            turns = torch.randn(steps, generator=generator).tolist()
            y, x = cy, cx
            for turn in turns:
                footprint |= (yy - y) ** 2 + (xx - x) ** 2 <= max(radius, 0.75) ** 2
                heading += (0.25 if long else 0.5) * turn
                y, x = y + length * math.sin(heading), x + length * math.cos(heading)
        centre_colour = image[:, int(cy), int(cx)]
        same = allowed & ((image - centre_colour[:, None, None]).abs().amax(dim=0) < SAME_COLOUR)
        # the dab keeps to its region, spilling a pixel over its edge as a hand does
        region = F.max_pool2d(same[None, None].float(), 2 * spill + 1, 1, spill)[0, 0] > 0
        inside = footprint & same
        footprint &= region
        if not inside.any():
            continue
        mean = image[:, inside].mean(dim=1)  # (3,): the region's colour under the dab
        colour[:, footprint] = mean[:, None]
        mask[0, footprint] = 1.0
    return colour, mask


def sample_training_hints(
    image: torch.Tensor, seed: int, epoch: int, index: int, config: HintConfig
) -> tuple[torch.Tensor, torch.Tensor]:
    """(the target, possibly on coloured paper; its (4, R, R) hint channels) for one training
    item: the module docstring's distribution, every draw keyed by (seed, epoch, index)."""
    image, paper = paint_background(image, background_generator(seed, epoch, index), config)
    colour, mask = sample_hints(image, hint_generator(seed, epoch, index), config)
    if paper is not None:  # the dab that asks for the paper's colour
        on_paper, paper_mask = sample_hints(
            image, background_generator(seed, epoch, index + 2**40), config, 1, centres=paper
        )
        colour = torch.where(paper_mask > 0, on_paper, colour)
        mask = torch.maximum(mask, paper_mask)
    return image, hint_input(colour, mask)


def hint_input(colour: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The (4, R, R) hint channels a generator takes: colour, then mask."""
    return torch.cat([colour * mask, mask])


def resize_hints(
    colour: torch.Tensor, mask: torch.Tensor, size: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Hints at another resolution: the mask by area (a hint covers at least half the pixel),
    the colour averaged over the hinted part only."""
    if colour.shape[-1] == size:
        return colour, mask
    m = F.interpolate(mask[None], size=(size, size), mode="area")[0]
    c = F.interpolate((colour * mask)[None], size=(size, size), mode="area")[0]
    keep = (m >= 0.5).to(mask.dtype)
    return c / m.clamp_min(1e-6) * keep, keep


def fit_hints(hints: torch.Tensor | None, size: int) -> torch.Tensor:
    """(4, size, size) hint channels from a (4, H, W) snapshot of any square size (None: no
    hint, zeros). Anything but four finite channels is a ValueError that says what it got."""
    if hints is None:
        return torch.zeros(HINT_CHANNELS, size, size)
    if hints.dim() != 3 or hints.shape[0] != HINT_CHANNELS or hints.shape[1] != hints.shape[2]:
        raise ValueError(
            f"hints must be ({HINT_CHANNELS}, N, N) (colour × mask, then mask), "
            f"got {tuple(hints.shape)}"
        )
    hints = hints.float()
    if not torch.isfinite(hints).all():
        raise ValueError("hints hold NaN or infinite values")
    mask = hints[3:].clamp(0.0, 1.0)
    colour = hints[:3].clamp(-1.0, 1.0)
    if hints.shape[-1] != size:
        covered = mask > 0
        plain = torch.where(covered, colour / mask.clamp_min(1e-6), torch.zeros_like(colour))
        plain, mask = resize_hints(plain.clamp(-1.0, 1.0), mask, size)
        colour = plain * mask
    return torch.cat([colour, mask])


def hints_from_rgba(picture: Image.Image | np.ndarray, resolution: int) -> torch.Tensor:
    """The (4, R, R) hint channels of an RGBA picture (a PIL image of any mode or an (H, W, 4)
    uint8 array) of any size, padded to a square with transparency and resized: where alpha is
    at least half, the pixel's RGB is a hint colour; elsewhere there is no hint."""
    if isinstance(picture, np.ndarray):
        if picture.ndim != 3 or picture.shape[2] != 4 or picture.dtype != np.uint8:
            raise ValueError(f"hints must be an (H, W, 4) uint8 array, got {picture.shape}")
        rgba = picture
    else:
        rgba = np.asarray(picture.convert("RGBA"))
    h, w = rgba.shape[:2]
    if h < 1 or w < 1:
        raise ValueError("the hint picture is empty")
    side = max(h, w)
    if (h, w) != (side, side):  # centred like the sketch (sketch.pad_to_square)
        square = np.zeros((side, side, 4), dtype=np.uint8)
        top, left = (side - h) // 2, (side - w) // 2
        square[top : top + h, left : left + w] = rgba
        rgba = square
    t = torch.from_numpy(np.ascontiguousarray(rgba)).permute(2, 0, 1).float() / 255.0
    mask = (t[3:] >= 0.5).float()
    colour = (t[:3] * 2.0 - 1.0) * mask
    return fit_hints(torch.cat([colour, mask]), resolution)


def rgba_from_hints(hints: torch.Tensor) -> np.ndarray:
    """(R, R, 4) uint8: the hint colours, opaque where hinted and transparent elsewhere (the
    inverse of `hints_from_rgba` at the same size)."""
    colour, mask = hints[:3].float(), hints[3:].float().clamp(0.0, 1.0)
    plain = torch.where(mask > 0, colour / mask.clamp_min(1e-6), torch.zeros_like(colour))
    rgb = ((plain.clamp(-1.0, 1.0) + 1.0) * 127.5).round()
    alpha = (mask >= 0.5).float() * 255.0
    out = torch.cat([rgb * (alpha > 0), alpha]).permute(1, 2, 0)
    return out.to(torch.uint8).numpy()
