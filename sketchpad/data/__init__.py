"""Training pairs (line drawing → picture) from every source a user brings.

    from sketchpad.data import open_source
    dataset = open_source("openmoji", resolution=128, split="train", augment=AugmentConfig())

Sources (`--data SPEC`): see `sketchpad.data.sources`. Splits: see `sketchpad.data.splits`.
Nothing here imports Qt until OpenMoji drawings are rendered, nor the OpenMoji package until
its drawings are opened (`sketchpad.data.openmoji`).
"""

from sketchpad.data.augment import AugmentConfig, augment_pair, pair_generator
from sketchpad.data.base import KINDS, DataWarning, PairItem, PairSource
from sketchpad.data.dataset import PairDataset
from sketchpad.data.lines import LineParams, extract_lines
from sketchpad.data.preview import make_contact_sheet
from sketchpad.data.sources import DataSpec, detect_kind, open_source, parse_spec
from sketchpad.data.splits import SPLIT_CHOICES, SPLIT_PERCENT, SPLITS, split_of
from sketchpad.errors import DataError

__all__ = [
    "KINDS",
    "SPLITS",
    "SPLIT_CHOICES",
    "SPLIT_PERCENT",
    "AugmentConfig",
    "DataError",
    "DataSpec",
    "DataWarning",
    "LineParams",
    "PairDataset",
    "PairItem",
    "PairSource",
    "augment_pair",
    "detect_kind",
    "extract_lines",
    "make_contact_sheet",
    "open_source",
    "pair_generator",
    "parse_spec",
    "split_of",
]
