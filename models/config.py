"""Typed, validated configurations for the networks and losses (dataclasses only: the builders
are in `models.build`).

Each config checks itself when built and names the wrong field, so a bad value fails at once
with a message a user can act on instead of deep inside a forward pass. Each one's allowed
values are data beside it (`LIMITS`, `CHOICES`), which its validation and the UI both read.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import typing
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from models.layers import NORMS
from models.validation import (
    NON_NEGATIVE,
    FieldChecks,
    InvalidConfig,
    Limits,
    WrongType,
    typed,
)

MAX_RESOLUTION = 2048
"""The largest picture side a network may be built for."""
MAX_HIGHRES_LEVELS = 3
MAX_HIGHRES_WIDTH = 64
OBJECTIVES = ("vanilla", "lsgan", "hinge", "wgangp")
GENERATOR_ARCHS = ("mru", "unet")
DISCRIMINATOR_ARCHS = ("patch", "multiscale", "shared_trunk")
HINT_CHANNELS = 4
"""Colour hints: the hint colour (3 channels, multiplied by the mask) and the hint mask."""
UNET_MIN_DEPTH = 5
"""pix2pix's U-Net has five levels of fixed widths (ngf·1, 2, 4, 8, 8) before the repeated ones."""


@dataclass(frozen=True)
class GeneratorConfig:
    """`arch="mru"`: SketchyGAN-style MRU encoder–decoder with CSAM.
    `arch="unet"`: pix2pix's U-Net; `depth` is its num_downs (7 = unet_128, 8 = unet_256) and
    `base_width` its ngf."""

    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {"arch": GENERATOR_ARCHS, "norm": NORMS}
    LIMITS: ClassVar[dict[str, Limits]] = {
        # Upper bounds keep a hostile or damaged model file from asking for absurd memory
        # before anything is allocated (the largest sensible networks fit well inside them).
        "in_channels": Limits(1, 16, integer=True),
        "out_channels": Limits(1, 16, integer=True),
        "resolution": Limits(1, MAX_RESOLUTION, integer=True),
        "base_width": Limits(1, 256, integer=True),
        "max_width": Limits(1, 1024, integer=True),
        "depth": Limits(1, 10, integer=True),
        "attention_reduction": Limits(1, 64, integer=True),
        "noise_channels": Limits(0, 64, integer=True),
        "hint_channels": Limits(0, 8, integer=True),
    }

    arch: str = "mru"
    """The generator's architecture: mru (SketchyGAN-style) or unet (pix2pix)."""
    in_channels: int = 1
    """Channels of the sketch input (set from the data's encoding)."""
    out_channels: int = 3
    """Channels of the picture it makes (3: RGB)."""
    resolution: int = 128
    """Side of the square pictures it works on, in pixels."""
    base_width: int = 16
    """Channels at the finest level (the U-Net's ngf)."""
    max_width: int = 128
    """Most channels at any level (the coarser levels double up to this)."""
    depth: int = 5
    """Levels down and up the encoder-decoder (the U-Net's num_downs)."""
    norm: str = "batch"
    """Normalisation layers."""
    attention_levels: tuple[int, ...] = (2,)
    """Levels (0: finest) that get a conditional self-attention module."""
    attention_reduction: int = 8
    """Query/key channels are the level's channels divided by this."""
    noise_channels: int = 0
    """Extra input channels of random noise (0: none)."""
    noise_global: bool = False
    """One noise vector per picture, the same at every bottleneck cell, so that a seed can
    change the whole picture's colouring at once (false: an independent vector per cell)."""
    hint_channels: int = 0
    """Colour-hint channels fed beside the sketch at every scale: 0 (none) or 4 (colour, mask)."""
    dropout: bool = False
    """Dropout in the decoder, as pix2pix uses for its noise."""
    highres_widths: tuple[int, ...] = ()
    """Channels of the high-resolution levels above the trunk, one level per entry, each
    doubling the side (e.g. (16, 8): 256 then 512 px above a 128 px trunk; (): none). The
    trunk's picture is the live preview; the levels give the full picture."""

    def __post_init__(self) -> None:
        check = FieldChecks(self)
        check.table(self.LIMITS, self.CHOICES)
        check.require(
            self.resolution % (2**self.depth) == 0,
            "resolution",
            f"{self.resolution} is not divisible by 2^depth = {2**self.depth}; "
            f"use a multiple of {2**self.depth} or a smaller depth",
        )
        check.require(
            self.hint_channels in (0, HINT_CHANNELS),
            "hint_channels",
            f"is {self.hint_channels}; use 0 (no colour hints) or {HINT_CHANNELS} (colour + mask)",
        )
        object.__setattr__(self, "attention_levels", tuple(self.attention_levels))
        for level in self.attention_levels:
            check.require(
                isinstance(level, int) and 0 <= level < self.depth,
                "attention_levels",
                f"level {level!r} is outside 0..{self.depth - 1} (level l works at resolution/2^l)",
            )
        object.__setattr__(self, "highres_widths", tuple(self.highres_widths))
        check.require(
            len(self.highres_widths) <= MAX_HIGHRES_LEVELS,
            "highres_widths",
            f"has {len(self.highres_widths)} levels; at most {MAX_HIGHRES_LEVELS} (×8) are allowed",
        )
        for width in self.highres_widths:
            check.require(
                isinstance(width, int)
                and not isinstance(width, bool)
                and 1 <= width <= MAX_HIGHRES_WIDTH,
                "highres_widths",
                f"width {width!r} is outside 1..{MAX_HIGHRES_WIDTH}",
            )
        check.require(
            self.output_resolution <= MAX_RESOLUTION,
            "highres_widths",
            f"the levels would paint {self.output_resolution} px; at most {MAX_RESOLUTION}",
        )
        if self.arch == "unet":
            check.require(
                not self.highres_widths,
                "highres_widths",
                "the U-Net baseline has no high-resolution levels; use ()",
            )
            check.require(
                self.depth >= UNET_MIN_DEPTH,
                "depth",
                f"pix2pix's U-Net needs num_downs >= {UNET_MIN_DEPTH}",
            )
            check.require(
                self.resolution == 2**self.depth,
                "depth",
                f"pix2pix's U-Net needs resolution = 2^depth (unet_128: depth 7, unet_256: "
                f"depth 8); got resolution {self.resolution}, depth {self.depth}",
            )
            check.require(
                not self.attention_levels,
                "attention_levels",
                "the U-Net baseline has no attention; use ()",
            )

    @classmethod
    def pix2pix_unet(cls, resolution: int, ngf: int = 64) -> GeneratorConfig:
        """pix2pix's unet_<resolution> (1 -> 3 channels): num_downs = log2(resolution), for the
        largest power of two not above `resolution`."""
        depth = resolution.bit_length() - 1
        return cls(
            arch="unet", resolution=2**depth, depth=depth, base_width=ngf, attention_levels=()
        )

    @property
    def condition_channels(self) -> int:
        """Channels of what the generator is conditioned on at every scale: sketch + hints."""
        return self.in_channels + self.hint_channels

    @property
    def inputs(self) -> tuple[str, ...]:
        """What the generator takes, in words a model file records: ink, hints, noise."""
        names = ["ink"]
        if self.hint_channels:
            names.append("hints")
        if self.noise_channels and self.arch == "mru":
            names.append("noise")
        return tuple(names)

    @property
    def output_resolution(self) -> int:
        """Side of the full picture: the trunk's resolution, doubled by each high-resolution
        level."""
        return self.resolution * 2 ** len(self.highres_widths)

    def width(self, level: int) -> int:
        """MRU generator: channels at `level` (resolution / 2^level)."""
        return min(self.base_width * 2**level, self.max_width)


@dataclass(frozen=True)
class DiscriminatorConfig:
    """`patch`: pix2pix's NLayerDiscriminator. `multiscale`: pix2pixHD's `num_d` PatchGANs on
    a downsampled pyramid. `shared_trunk`: `branches` PatchGAN branches of growing depth sharing
    their first `shared_layers` convolutions, the deepest one global."""

    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {"arch": DISCRIMINATOR_ARCHS, "norm": NORMS}
    LIMITS: ClassVar[dict[str, Limits]] = {
        "in_channels": Limits(1, 32, integer=True),
        "ndf": Limits(1, 256, integer=True),
        "n_layers": Limits(1, 8, integer=True),
        "max_mult": Limits(1, 16, integer=True),
        "num_d": Limits(1, 5, integer=True),
        "resolution": Limits(1, MAX_RESOLUTION, integer=True),
        "branches": Limits(2, 4, integer=True),
        "shared_layers": Limits(
            1, 3, integer=True, why="the finest branch has 3 downsampling layers"
        ),
    }

    arch: str = "shared_trunk"
    """The discriminator's architecture: patch, multiscale or shared_trunk."""
    in_channels: int = 4
    """Channels it sees: the sketch's and the picture's (set by the trainer)."""
    ndf: int = 64
    """Channels of its first layer."""
    n_layers: int = 3
    """Stride-2 layers of a PatchGAN (patch and multiscale)."""
    max_mult: int = 8
    """Most channels, as a multiple of ndf."""
    norm: str = "batch"
    """Normalisation layers."""
    spectral: bool = False
    """Spectral normalisation of the convolutions."""
    num_d: int = 3
    """PatchGANs on the image pyramid (multiscale)."""
    branches: int = 3
    """Branches of growing depth, the deepest global (shared_trunk)."""
    shared_layers: int = 2
    """First convolutions the branches share (shared_trunk)."""
    resolution: int = 128
    """Side of the square pictures it judges, in pixels."""

    def __post_init__(self) -> None:
        check = FieldChecks(self)
        check.table(self.LIMITS, self.CHOICES)
        if self.arch == "shared_trunk":
            downs = self.global_downs()
            check.require(
                self.resolution // 2**downs >= 1 and self.resolution % 2**downs == 0,
                "resolution",
                f"a {self.branches}-branch shared-trunk discriminator needs {downs} "
                f"halvings, which resolution {self.resolution} does not allow; use fewer "
                f"branches or a resolution divisible by {2**downs}",
            )

    def patch_downs(self) -> tuple[int, ...]:
        """Shared trunk: the stride-2 layers of each PatchGAN branch (pix2pix's n_layers)."""
        return tuple(3 + b for b in range(self.branches - 1))

    def global_downs(self) -> int:
        """Shared trunk: the stride-2 layers of the global branch, one more than the deepest
        patch branch at least, and enough to bring the map down to 4×4 or less."""
        return max(self.branches + 2, math.ceil(math.log2(max(self.resolution / 4, 1))))


@dataclass(frozen=True)
class LossConfig:
    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {"objective": OBJECTIVES}
    LIMITS: ClassVar[dict[str, Limits]] = {
        "l1_weight": Limits(0, 10_000),
        "feature_matching_weight": NON_NEGATIVE,
        "gp_weight": NON_NEGATIVE,
        "mode_seeking_weight": NON_NEGATIVE,
        "mode_seeking_cap": NON_NEGATIVE,
        "mode_seeking_pool": Limits(1, 64, integer=True),
        "noise_choices": Limits(1, 16, integer=True),
    }

    objective: str = "hinge"
    """The adversarial loss."""
    l1_weight: float = 100.0
    """Weight of the L1 distance between output and target."""
    feature_matching_weight: float = 10.0
    """Weight of discriminator feature matching (0: off)."""
    gp_weight: float = 10.0
    """Weight of the gradient penalty (wgangp only)."""
    mode_seeking_weight: float = 0.0
    """Weight of MSGAN's mode-seeking term, so that other noise gives other pictures
    (generators with noise only; 0: off). MSGAN uses 1; here 1 and 0.5 smeared and then
    wiped out the lines within 1,200 fine-tuning steps, and 0.1 cost 1.4 dB in 200 steps:
    `noise_choices` does better."""
    mode_seeking_cap: float = 0.0
    """The picture/noise distance ratio past which the mode-seeking term asks no more (0: no
    cap)."""
    mode_seeking_pool: int = 1
    """The mode-seeking term compares the pictures averaged over cells this many pixels across
    (their colours rather than their lines)."""
    noise_choices: int = 3
    """Conditional IMLE (Li, Zhang and Malik, 2019): try this many noises per item without
    gradients and train on the one whose picture is nearest the target, so that some noise
    reaches every colouring the data holds and different noises give different ones
    (generators with noise only; 1: off, one random noise). Each try costs a forward pass."""

    def __post_init__(self) -> None:
        FieldChecks(self).table(self.LIMITS, self.CHOICES)


C = TypeVar("C")


def config_to_dict(config: Any) -> dict[str, Any]:
    return {
        f.name: (list(v) if isinstance(v := getattr(config, f.name), tuple) else v)
        for f in dataclasses.fields(config)
    }


def config_from_dict(cls: type[C], data: Any, where: str | None = None) -> C:
    """Build `cls` from a plain dict (JSON, a model file's metadata), strictly typed: every
    field must hold its annotated type (`models.validation.typed`: a bool a bool, an int an
    int, never a bool, ...), and a field whose type is itself a config takes an object, built
    the same way. Errors name the field as a dotted path under `where` (default: the class
    name; "" names a top-level object's keys alone, as a JSON file spells them)."""
    label = cls.__name__ if where is None else where
    if not isinstance(data, dict):
        raise InvalidConfig("", label or cls.__name__, WrongType("an object", data).args[0])
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise InvalidConfig(label, unknown[0], f"unknown field(s) {', '.join(unknown)}")
    hints = _field_types(cls)
    values = {}
    for key, value in data.items():
        hint = hints[key]
        try:
            if dataclasses.is_dataclass(hint):
                if not isinstance(value, hint):
                    value = config_from_dict(hint, value, f"{label}.{key}" if label else key)
            else:
                value = typed(value, hint)
        except WrongType as exc:
            raise InvalidConfig(label, key, str(exc)) from exc
        values[key] = value
    try:
        return cls(**values)
    except InvalidConfig as exc:
        if exc.config != cls.__name__ or label == exc.config:
            raise
        raise InvalidConfig(label, exc.field, exc.message) from exc  # named as the caller spells it
    except TypeError as exc:
        raise InvalidConfig(label, "*", str(exc)) from exc


_TYPES: dict[type, dict[str, Any]] = {}


def _field_types(cls: type) -> dict[str, Any]:
    """The dataclass fields' annotations, resolved (cached per class)."""
    if cls not in _TYPES:
        module = sys.modules[cls.__module__]
        _TYPES[cls] = typing.get_type_hints(cls, vars(module))
    return _TYPES[cls]


__all__ = [
    "DISCRIMINATOR_ARCHS",
    "GENERATOR_ARCHS",
    "OBJECTIVES",
    "UNET_MIN_DEPTH",
    "DiscriminatorConfig",
    "GeneratorConfig",
    "InvalidConfig",
    "LossConfig",
    "config_from_dict",
    "config_to_dict",
]
