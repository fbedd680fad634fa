"""The networks and losses of Sketchpad. PyTorch only: no files, no Qt, no device policy."""

from models.attention import ConditionalSelfAttention
from models.build import build_discriminator, build_generator
from models.config import (
    DiscriminatorConfig,
    GeneratorConfig,
    LossConfig,
    config_from_dict,
    config_to_dict,
)
from models.discriminators import (
    MultiscaleDiscriminator,
    PatchDiscriminator,
    SharedTrunkDiscriminator,
)
from models.fold import fold_batchnorm
from models.generators import MRUGenerator, Trunk, UNetGenerator
from models.highres import HighResLevel, HighResLevels
from models.losses import (
    d_loss_fake,
    d_loss_real,
    feature_matching_loss,
    g_loss,
    gradient_penalty,
    l1_loss,
)
from models.mru import MaskedResidualUnit, UpMRU
from models.receptive_field import ReceptiveField, receptive_field_of, receptive_fields
from models.validation import FieldChecks, InvalidConfig, Limits, field_error

__all__ = [
    "ConditionalSelfAttention",
    "DiscriminatorConfig",
    "FieldChecks",
    "GeneratorConfig",
    "HighResLevel",
    "HighResLevels",
    "InvalidConfig",
    "Limits",
    "LossConfig",
    "MRUGenerator",
    "MaskedResidualUnit",
    "MultiscaleDiscriminator",
    "PatchDiscriminator",
    "ReceptiveField",
    "SharedTrunkDiscriminator",
    "Trunk",
    "UNetGenerator",
    "UpMRU",
    "build_discriminator",
    "build_generator",
    "config_from_dict",
    "config_to_dict",
    "d_loss_fake",
    "d_loss_real",
    "feature_matching_loss",
    "field_error",
    "fold_batchnorm",
    "g_loss",
    "gradient_penalty",
    "l1_loss",
    "receptive_field_of",
    "receptive_fields",
]
