"""Typed, validated configurations for the networks and losses, and builders from them.

Each config checks itself when built and names the wrong field, so a bad value fails at once
with a message a user can act on instead of deep inside a forward pass.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, TypeVar

from models.layers import NORMS

OBJECTIVES = ("vanilla", "lsgan", "hinge", "wgangp")
GENERATOR_ARCHS = ("mru", "unet")
DISCRIMINATOR_ARCHS = ("patch", "multiscale", "shared_trunk")


class InvalidConfig(ValueError):
    """A configuration field with a bad value. `field` names it."""

    def __init__(self, config: str, field: str, message: str) -> None:
        super().__init__(f"{config}.{field}: {message}")
        self.config = config
        self.field = field


def _check(ok: bool, config: str, name: str, message: str) -> None:
    if not ok:
        raise InvalidConfig(config, name, message)


def _positive(config: Any, *names: str) -> None:
    for name in names:
        value = getattr(config, name)
        _check(
            isinstance(value, int) and value > 0,
            type(config).__name__,
            name,
            f"must be a positive integer, got {value!r}",
        )


@dataclass(frozen=True)
class GeneratorConfig:
    """`arch="mru"`: SketchyGAN-style MRU encoder–decoder with CSAM.
    `arch="unet"`: pix2pix's U-Net; `depth` is its num_downs (7 = unet_128, 8 = unet_256) and
    `base_width` its ngf."""

    arch: str = "mru"
    in_channels: int = 1
    out_channels: int = 3
    resolution: int = 128
    base_width: int = 16
    max_width: int = 128
    depth: int = 5
    norm: str = "batch"
    attention_levels: tuple[int, ...] = (2,)
    attention_reduction: int = 8
    noise_channels: int = 0
    dropout: bool = False

    def __post_init__(self) -> None:
        name = "GeneratorConfig"
        _check(
            self.arch in GENERATOR_ARCHS,
            name,
            "arch",
            f"unknown arch {self.arch!r}; expected one of {', '.join(GENERATOR_ARCHS)}",
        )
        _positive(
            self,
            "in_channels",
            "out_channels",
            "resolution",
            "base_width",
            "max_width",
            "depth",
            "attention_reduction",
        )
        _check(
            self.norm in NORMS,
            name,
            "norm",
            f"unknown norm {self.norm!r}; expected one of {', '.join(NORMS)}",
        )
        _check(self.noise_channels >= 0, name, "noise_channels", "must be 0 or more")
        _check(
            self.resolution % (2**self.depth) == 0,
            name,
            "resolution",
            f"{self.resolution} is not divisible by 2^depth = {2**self.depth}; "
            f"use a multiple of {2**self.depth} or a smaller depth",
        )
        object.__setattr__(self, "attention_levels", tuple(self.attention_levels))
        for level in self.attention_levels:
            _check(
                isinstance(level, int) and 0 <= level < self.depth,
                name,
                "attention_levels",
                f"level {level!r} is outside 0..{self.depth - 1} (level l works at resolution/2^l)",
            )
        if self.arch == "unet":
            _check(
                self.resolution == 2**self.depth,
                name,
                "depth",
                f"pix2pix's U-Net needs resolution = 2^depth (unet_128: depth 7, unet_256: "
                f"depth 8); got resolution {self.resolution}, depth {self.depth}",
            )
            _check(
                not self.attention_levels,
                name,
                "attention_levels",
                "the U-Net baseline has no attention; use ()",
            )

    def width(self, level: int) -> int:
        """MRU generator: channels at level l (resolution / 2^l)."""
        return min(self.base_width * 2**level, self.max_width)


@dataclass(frozen=True)
class DiscriminatorConfig:
    """`patch`: pix2pix's NLayerDiscriminator. `multiscale`: pix2pixHD's `num_d` PatchGANs on
    a downsampled pyramid. `shared_trunk`: `branches` PatchGAN branches of growing depth sharing
    their first `shared_layers` convolutions, the deepest one global."""

    arch: str = "shared_trunk"
    in_channels: int = 4
    ndf: int = 64
    n_layers: int = 3
    max_mult: int = 8
    norm: str = "batch"
    spectral: bool = False
    num_d: int = 3
    branches: int = 3
    shared_layers: int = 2
    resolution: int = 128

    def __post_init__(self) -> None:
        name = "DiscriminatorConfig"
        _check(
            self.arch in DISCRIMINATOR_ARCHS,
            name,
            "arch",
            f"unknown arch {self.arch!r}; expected one of {', '.join(DISCRIMINATOR_ARCHS)}",
        )
        _positive(
            self,
            "in_channels",
            "ndf",
            "n_layers",
            "max_mult",
            "num_d",
            "resolution",
            "shared_layers",
        )
        _check(
            self.norm in NORMS,
            name,
            "norm",
            f"unknown norm {self.norm!r}; expected one of {', '.join(NORMS)}",
        )
        _check(
            self.branches in (2, 3, 4),
            name,
            "branches",
            f"must be 2, 3 or 4, got {self.branches!r}",
        )
        _check(
            self.shared_layers <= 3,
            name,
            "shared_layers",
            "at most 3: the finest branch has 3 downsampling layers",
        )


@dataclass(frozen=True)
class LossConfig:
    objective: str = "hinge"
    l1_weight: float = 100.0
    feature_matching_weight: float = 10.0
    gp_weight: float = 10.0

    def __post_init__(self) -> None:
        _check(
            self.objective in OBJECTIVES,
            "LossConfig",
            "objective",
            f"unknown objective {self.objective!r}; expected one of {', '.join(OBJECTIVES)}",
        )
        for name in ("l1_weight", "feature_matching_weight", "gp_weight"):
            value = getattr(self, name)
            _check(
                isinstance(value, (int, float)) and math.isfinite(value) and value >= 0,
                "LossConfig",
                name,
                f"must be a finite number ≥ 0, got {value!r}",
            )


C = TypeVar("C")


def config_to_dict(config: Any) -> dict[str, Any]:
    return {
        f.name: (list(v) if isinstance(v := getattr(config, f.name), tuple) else v)
        for f in dataclasses.fields(config)
    }


def config_from_dict(cls: type[C], data: dict[str, Any]) -> C:
    """Build `cls` from a plain dict (e.g. JSON), naming unknown or mistyped fields."""
    if not isinstance(data, dict):
        raise InvalidConfig(cls.__name__, "*", f"expected an object, got {type(data).__name__}")
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise InvalidConfig(cls.__name__, unknown[0], f"unknown field(s) {', '.join(unknown)}")
    values = {}
    for key, value in data.items():
        if isinstance(value, list):
            value = tuple(value)
        values[key] = value
    try:
        return cls(**values)
    except TypeError as exc:
        raise InvalidConfig(cls.__name__, "*", str(exc)) from exc


def build_generator(config: GeneratorConfig):
    from models.generators import MRUGenerator, UNetGenerator

    return MRUGenerator(config) if config.arch == "mru" else UNetGenerator.from_config(config)


def build_discriminator(config: DiscriminatorConfig):
    from models.discriminators import (
        MultiscaleDiscriminator,
        PatchDiscriminator,
        SharedTrunkDiscriminator,
    )

    if config.arch == "patch":
        return PatchDiscriminator.from_config(config)
    if config.arch == "multiscale":
        return MultiscaleDiscriminator.from_config(config)
    return SharedTrunkDiscriminator.from_config(config)


__all__ = [
    "OBJECTIVES",
    "DiscriminatorConfig",
    "GeneratorConfig",
    "InvalidConfig",
    "LossConfig",
    "build_discriminator",
    "build_generator",
    "config_from_dict",
    "config_to_dict",
]
