"""Networks from their configs: the one place that maps an `arch` name to a class."""

from __future__ import annotations

from models.config import DiscriminatorConfig, GeneratorConfig
from models.discriminators import (
    MultiscaleDiscriminator,
    PatchDiscriminator,
    SharedTrunkDiscriminator,
)
from models.generators import MRUGenerator, UNetGenerator

Generator = MRUGenerator | UNetGenerator
Discriminator = PatchDiscriminator | MultiscaleDiscriminator | SharedTrunkDiscriminator


def build_generator(config: GeneratorConfig) -> Generator:
    return MRUGenerator(config) if config.arch == "mru" else UNetGenerator(config)


def build_discriminator(config: DiscriminatorConfig) -> Discriminator:
    if config.arch == "patch":
        return PatchDiscriminator(config)
    if config.arch == "multiscale":
        return MultiscaleDiscriminator(config)
    return SharedTrunkDiscriminator(config)


__all__ = ["Discriminator", "Generator", "build_discriminator", "build_generator"]
