"""Augmentation for hand-drawn input: users' strokes are rougher than designers' lines, and
people rarely fill the frame the way emoji designers do.

Each switch is independent, and every random number is drawn whether its switch is on or not,
so turning one augmentation off never changes what the others do for a given seed. In order:
thickness, dropout, gaps and overshoots, (rescale: the drawing smaller and anywhere in the
frame, its strokes kept as thick as before), affine jitter, flip, wobble (the sketch alone),
distance field.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace
from typing import ClassVar

import torch
import torch.nn.functional as F

from models.validation import POSITIVE_INT, FieldChecks, Limits, field_error
from sketchpad.data.hints import HintConfig
from sketchpad.errors import ConfigError
from sketchpad.sketch import distance_field


@dataclass(frozen=True)
class AugmentConfig:
    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {}  # every field is a switch or a number
    LIMITS: ClassVar[dict[str, Limits]] = {
        "max_rotation": Limits(0, 45),
        "max_scale": Limits(0, 0.5, high_open=True),
        "max_shift": Limits(0, 0.5),
        "max_thickness": Limits(0, 4),
        "max_dropout": Limits(0, 1),
        "dropout_cells": POSITIVE_INT,
        "distance_radius": Limits(0, low_open=True),
        "rescale_share": Limits(0, 1),
        "min_size": Limits(0.1, 1.5),
        "max_size": Limits(0.1, 1.5),
        "line_width": Limits(0, 8),
        "max_wobble": Limits(0, 8),
        "wobble_cells": Limits(2, 64, integer=True),
        "max_gaps": Limits(0, 0.5),
        "max_overshoot": Limits(0, 8),
        "hint_p_none": Limits(0, 1, low_open=True),
        "hint_max_dabs": Limits(0, 256, integer=True),
        "hint_background": Limits(0, 1),
    }

    flip: bool = True
    """Mirror sketch and target left-right, half of the time."""
    affine: bool = True
    """Jitter sketch and target together: rotation, scale and shift (small)."""
    thickness: bool = True
    """Make strokes thicker or thinner by up to `max_thickness` pixels on each side."""
    dropout: bool = True
    """Half of the time, erase lines in random blobs covering up to `max_dropout` of the sheet."""
    distance_field: bool = False
    """Encode the sketch as a soft distance field (an encoding: inference needs it too)."""
    rescale: bool = True
    """For `rescale_share` of the items, draw the pair at `min_size`–`max_size` of the frame,
    anywhere it fits, strokes kept at their width (the app's brush does not shrink)."""
    wobble: bool = True
    """Displace the sketch's strokes smoothly by up to `max_wobble` px, as a mouse hand draws."""
    gaps: bool = True
    """Break the lines in short gaps (up to `max_gaps` of the ink) and let some overshoot their
    ends or double by up to `max_overshoot` pixels."""

    max_rotation: float = 4.0
    """Degrees."""
    max_scale: float = 0.06
    """Relative: 0.06 scales between 0.94 and 1.06."""
    max_shift: float = 0.04
    """Fraction of the side."""
    max_thickness: float = 1.0
    """Pixels per side at the model's resolution (fractions blend with the next pixel)."""
    max_dropout: float = 0.15
    """Largest share of the sheet a dropout erases."""
    dropout_cells: int = 6
    """Blob size: the noise that picks what to erase is this many cells across."""
    distance_radius: float = 3.0
    """Pixels over which the distance field fades."""
    rescale_share: float = 0.6
    """Share of the items drawn at another size and place (rescale)."""
    min_size: float = 0.4
    """Smallest drawing, as a fraction of the frame (rescale)."""
    max_size: float = 1.1
    """Largest drawing, as a fraction of the frame (rescale)."""
    line_width: float = 2.0
    """The data's stroke width in pixels at the model's resolution, kept when rescaling."""
    max_wobble: float = 1.5
    """Largest wobble displacement, in pixels at 128 px (scaled with the resolution)."""
    wobble_cells: int = 5
    """Wobble smoothness: the displacement field is this many cells across."""
    max_gaps: float = 0.12
    """Largest share of the ink a gap pattern erases."""
    max_overshoot: float = 3.0
    """Largest overshoot or doubling offset, in pixels at 128 px."""
    hint_p_none: float = 0.125
    """Colour hints (models with hint inputs): the dab count is geometric, P(no dab) this."""
    hint_max_dabs: int = 32
    """Colour hints: the most dabs one item gets."""
    hint_background: float = 0.15
    """Colour hints: the share of items whose paper around the drawing is coloured, with a dab
    on it, so that a dab on the paper colours a sky or a lawn (0: paper stays white)."""

    SWITCHES: ClassVar[tuple[str, ...]] = (
        "flip",
        "affine",
        "thickness",
        "dropout",
        "distance_field",
        "rescale",
        "wobble",
        "gaps",
    )

    def __post_init__(self) -> None:
        check = FieldChecks(self, field_error(ConfigError))
        check.table(self.LIMITS, self.CHOICES)
        check.require(
            self.min_size <= self.max_size,
            "min_size",
            f"is {self.min_size}, above max_size {self.max_size}",
        )

    @classmethod
    def off(cls) -> AugmentConfig:
        """No augmentation at all."""
        return cls(**dict.fromkeys(cls.SWITCHES, False))

    @classmethod
    def only(cls, *names: str) -> AugmentConfig:
        """Every switch off except the named ones (e.g. only("flip", "dropout"))."""
        unknown = set(names) - set(cls.SWITCHES)
        if unknown:
            raise ConfigError(
                f"unknown augmentation {sorted(unknown)}; known: {sorted(cls.SWITCHES)}"
            )
        return replace(cls.off(), **dict.fromkeys(names, True))

    def hint_config(self) -> HintConfig:
        """How training hints are sampled (`sketchpad.data.hints`)."""
        return HintConfig(
            p_none=self.hint_p_none,
            max_dabs=self.hint_max_dabs,
            p_background=self.hint_background,
        )

    @property
    def enabled(self) -> bool:
        return any(getattr(self, name) for name in self.SWITCHES)


def pair_generator(seed: int, epoch: int, index: int) -> torch.Generator:
    """The generator for one item in one epoch: same (seed, epoch, index), same augmentation."""
    digest = hashlib.blake2b(f"{seed}:{epoch}:{index}".encode(), digest_size=8).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest, "little") & (2**63 - 1))


def augment_pair(
    sketch: torch.Tensor,
    image: torch.Tensor,
    config: AugmentConfig,
    generator: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Augment one (sketch (1, R, R) ink, image (3, R, R) in [-1, 1]) pair; returns new tensors."""
    size = sketch.shape[-1]
    u = torch.rand(8, generator=generator).tolist()  # fixed draws, used or not
    noise = torch.rand(1, 1, config.dropout_cells, config.dropout_cells, generator=generator)
    v = torch.rand(8, generator=generator).tolist()  # the drawing-as-people-do draws
    wobble_field = torch.rand(1, 2, config.wobble_cells, config.wobble_cells, generator=generator)
    gap_noise = torch.rand(1, 1, GAP_CELLS, GAP_CELLS, generator=generator)
    unit = size / 128.0

    if config.thickness:
        sketch = change_thickness(sketch, (2 * u[0] - 1) * config.max_thickness)
    if config.dropout and u[1] < 0.5:
        smooth = F.interpolate(noise, size=(size, size), mode="bilinear", align_corners=False)
        erased = int(u[2] * config.max_dropout * smooth.numel())
        if erased > 0:  # the `erased` lowest-noise pixels: blobs covering that share of the sheet
            threshold = smooth.flatten().kthvalue(erased).values
            sketch = sketch * (smooth[0] > threshold)  # (1, R, R)
    if config.gaps:
        sketch = gaps_and_overshoots(
            sketch, gap_noise, v[0] * config.max_gaps, v[1], config.max_overshoot * unit * v[2]
        )
    angle, scale, shift = 0.0, 1.0, (0.0, 0.0)
    if config.affine:
        angle = math.radians((2 * u[3] - 1) * config.max_rotation)
        scale = 1.0 + (2 * u[4] - 1) * config.max_scale
        shift = (2 * (2 * u[5] - 1) * config.max_shift, 2 * (2 * u[6] - 1) * config.max_shift)
    if config.rescale and v[3] < config.rescale_share:
        scale = config.min_size + v[4] * (config.max_size - config.min_size)
        shift = placement(scale, v[5], v[6])
    if scale != 1.0 or angle != 0.0 or shift != (0.0, 0.0):
        if config.rescale and scale < 1.0:  # keep the strokes' width: the brush does not shrink
            sketch = change_thickness(sketch, (1.0 / scale - 1.0) * config.line_width / 2)
        sketch, image = _affine(sketch, image, angle, scale, shift)
    if config.flip and u[7] < 0.5:
        sketch, image = sketch.flip(-1), image.flip(-1)
    if config.wobble:
        sketch = wobble(sketch, wobble_field, config.max_wobble * unit * v[7])
    if config.distance_field:
        sketch = distance_field(sketch, config.distance_radius)
    return sketch.contiguous(), image.contiguous()


GAP_CELLS = 24
"""Gap size: the noise that picks where a line breaks is this many cells across."""


def placement(scale: float, a: float, b: float) -> tuple[float, float]:
    """The affine shift (grid units) that puts a drawing of `scale` × the frame at a place
    where it fits, from two uniform draws: its centre anywhere in the free margin."""
    room = max(0.0, 1.0 - scale)
    cx, cy = (2 * a - 1) * room, (2 * b - 1) * room
    return (-cx / scale, -cy / scale)


def wobble(ink: torch.Tensor, field: torch.Tensor, pixels: float) -> torch.Tensor:
    """Displace `ink` (1, R, R) by a smooth field up to `pixels` (field: (1, 2, c, c) uniform
    draws, upsampled bicubically), as an unsteady hand moves the line."""
    if pixels <= 0:
        return ink
    size = ink.shape[-1]
    flow = F.interpolate(2 * field - 1, size=(size, size), mode="bicubic", align_corners=False)
    flow = flow.permute(0, 2, 3, 1) * (2.0 * pixels / size)  # (1, R, R, 2) in grid units
    theta = torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]], dtype=ink.dtype)
    grid = F.affine_grid(theta, [1, 1, size, size], align_corners=False) + flow.to(ink.dtype)
    moved = F.grid_sample(ink[None], grid, "bilinear", "zeros", align_corners=False)
    return moved[0].clamp(0.0, 1.0)


def gaps_and_overshoots(
    ink: torch.Tensor, noise: torch.Tensor, share: float, direction: float, pixels: float
) -> torch.Tensor:
    """Break the lines where `noise` (1, 1, c, c) is lowest (about `share` of the sheet), and
    where it is highest add a copy of the lines moved `pixels` along `direction` (a turn
    fraction): strokes that overshoot their corners and run twice, as quick drawing does."""
    size = ink.shape[-1]
    smooth = F.interpolate(noise, size=(size, size), mode="bilinear", align_corners=False)[0]
    out = ink
    if share > 0:
        out = out * (smooth > torch.quantile(smooth.flatten(), share))
    if pixels >= 0.5:
        angle = 2 * math.pi * direction
        dy, dx = round(pixels * math.sin(angle)), round(pixels * math.cos(angle))
        moved = torch.roll(ink, shifts=(dy, dx), dims=(-2, -1))
        where = smooth > torch.quantile(smooth.flatten(), 0.85)  # a few blobs, ~15% of the sheet
        out = torch.maximum(out, moved * where)
    return out


def perturb_pair(
    sketch: torch.Tensor, image: torch.Tensor, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """A test pair drawn as people draw it (`sketchpad eval --perturb`): at 0.4–0.7 of the
    frame, off-centre, its strokes wobbly and a pixel thicker than the data's."""
    u = torch.rand(4, generator=generator).tolist()
    field = torch.rand(1, 2, 5, 5, generator=generator)
    size = sketch.shape[-1]
    scale = 0.4 + 0.3 * u[0]
    sketch = change_thickness(sketch, (1.0 / scale - 1.0) * 1.0 + 0.5 / scale)
    sketch, image = _affine(sketch, image, 0.0, scale, placement(scale, u[1], u[2]))
    sketch = wobble(sketch, field, 1.5 * size / 128.0)
    return sketch.contiguous(), image.contiguous()


def change_thickness(ink: torch.Tensor, pixels: float) -> torch.Tensor:
    """Grow (pixels > 0) or shrink (< 0) strokes by |pixels| per side, fractions blended."""
    steps, fraction = divmod(abs(pixels), 1.0)
    x = ink[None]  # (1, 1, R, R)
    grow = pixels > 0

    def once(t: torch.Tensor) -> torch.Tensor:
        if grow:
            return F.max_pool2d(t, 3, stride=1, padding=1)
        return -F.max_pool2d(-t, 3, stride=1, padding=1)

    for _ in range(int(steps)):
        x = once(x)
    if fraction > 0:
        x = x + fraction * (once(x) - x)
    return x[0]


def _affine(
    sketch: torch.Tensor,
    image: torch.Tensor,
    angle: float,
    scale: float,
    shift: tuple[float, float],
) -> tuple[torch.Tensor, torch.Tensor]:
    cos, sin = math.cos(angle) / scale, math.sin(angle) / scale
    theta = torch.tensor([[[cos, -sin, shift[0]], [sin, cos, shift[1]]]], dtype=sketch.dtype)
    both = torch.cat([sketch, image - 1.0])[None]  # (1, 4, R, R); outside reads 0 = paper, white
    grid = F.affine_grid(theta, list(both.shape), align_corners=False)
    moved = F.grid_sample(both, grid, mode="bilinear", padding_mode="zeros", align_corners=False)[0]
    return moved[:1].clamp(0.0, 1.0), (moved[1:] + 1.0).clamp(-1.0, 1.0)
