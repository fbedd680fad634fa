"""Augmentation for hand-drawn input: users' strokes are rougher than designers' lines.

Each switch is independent, and every random number is drawn whether its switch is on or not,
so turning one augmentation off never changes what the others do for a given seed.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace
from typing import ClassVar

import torch
import torch.nn.functional as F

from models.validation import POSITIVE_INT, FieldChecks, Limits, field_error
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

    def __post_init__(self) -> None:
        FieldChecks(self, field_error(ConfigError)).table(self.LIMITS, self.CHOICES)

    @classmethod
    def off(cls) -> AugmentConfig:
        """No augmentation at all."""
        return cls(flip=False, affine=False, thickness=False, dropout=False, distance_field=False)

    @classmethod
    def only(cls, *names: str) -> AugmentConfig:
        """Every switch off except the named ones (e.g. only("flip", "dropout"))."""
        switches = {"flip", "affine", "thickness", "dropout", "distance_field"}
        unknown = set(names) - switches
        if unknown:
            raise ConfigError(f"unknown augmentation {sorted(unknown)}; known: {sorted(switches)}")
        return replace(cls.off(), **dict.fromkeys(names, True))

    @property
    def enabled(self) -> bool:
        return self.flip or self.affine or self.thickness or self.dropout or self.distance_field


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

    if config.thickness:
        sketch = change_thickness(sketch, (2 * u[0] - 1) * config.max_thickness)
    if config.dropout and u[1] < 0.5:
        smooth = F.interpolate(noise, size=(size, size), mode="bilinear", align_corners=False)
        erased = int(u[2] * config.max_dropout * smooth.numel())
        if erased > 0:  # the `erased` lowest-noise pixels: blobs covering that share of the sheet
            threshold = smooth.flatten().kthvalue(erased).values
            sketch = sketch * (smooth[0] > threshold)  # (1, R, R)
    if config.affine:
        angle = math.radians((2 * u[3] - 1) * config.max_rotation)
        scale = 1.0 + (2 * u[4] - 1) * config.max_scale
        shift = (2 * (2 * u[5] - 1) * config.max_shift, 2 * (2 * u[6] - 1) * config.max_shift)
        sketch, image = _affine(sketch, image, angle, scale, shift)
    if config.flip and u[7] < 0.5:
        sketch, image = sketch.flip(-1), image.flip(-1)
    if config.distance_field:
        sketch = distance_field(sketch, config.distance_radius)
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
