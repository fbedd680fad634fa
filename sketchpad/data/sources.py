"""`--data SPEC`: which source a string names, and opening it as a PairDataset.

openmoji          the built-in OpenMoji set (CC BY-SA 4.0)
aligned:PATH      pix2pix aligned pictures (A | B side by side); A is the sketch (AtoB)
paired:PATH       PATH/sketches/ and PATH/images/ with matching file stems
photos:PATH       a folder of photos (recursive); line drawings are extracted (XDoG)
pack:FILE         pairs rendered into one file by `sketchpad dataset --pack` (sketchpad.data.pack)
PATH              one of aligned, paired or photos, detected from the folder's contents

OpenMoji (and its package) is imported only when it is opened, so a pack trains on a machine
without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sketchpad.data.augment import AugmentConfig
from sketchpad.data.base import KINDS, PairSource, ProgressFn, warn_skipped
from sketchpad.data.dataset import PairDataset
from sketchpad.data.folders import (
    AlignedSource,
    PairedSource,
    PhotoSource,
    has_subfolder,
    list_files,
)
from sketchpad.data.hints import HintConfig
from sketchpad.data.lines import LineParams
from sketchpad.data.pack import PackSource
from sketchpad.data.splits import SPLIT_CHOICES
from sketchpad.errors import ConfigError, DataError
from sketchpad.sketch import probe_image

DIRECTIONS = ("AtoB", "BtoA")
ALIGNED_SAMPLE = 24
"""Pictures whose header is read to tell an aligned folder from a folder of photos."""
ALIGNED_SHARE = 0.75
"""Detected as aligned when at least this share of the sample is twice as wide as tall."""


@dataclass(frozen=True)
class DataSpec:
    kind: str
    path: Path | None
    detected: bool = False
    detection: str | None = None
    """Why the kind was chosen, when it was detected."""


def parse_spec(spec: str) -> DataSpec:
    """Read a SPEC string; a bare PATH is inspected to pick its kind."""
    text = spec.strip()
    if not text:
        raise DataError(
            "the data spec is empty: give openmoji, aligned:PATH, paired:PATH, photos:PATH or PATH."
        )
    if text == "openmoji":
        return DataSpec("openmoji", None)
    kind, sep, rest = text.partition(":")
    if sep and kind in KINDS:
        if kind == "openmoji":
            raise DataError(f"{spec!r}: openmoji takes no path; write just openmoji.")
        if kind == "pack":
            return DataSpec(kind, _existing_file(rest, spec))
        return DataSpec(kind, _existing_folder(rest, spec))
    path = _existing_folder(text, spec)
    kind, reason = detect_kind(path)
    return DataSpec(kind, path, detected=True, detection=reason)


def _existing_folder(text: str, spec: str) -> Path:
    path = Path(text).expanduser()
    if not path.exists():
        raise DataError(
            f"{spec!r}: no such folder. Give openmoji, aligned:PATH, paired:PATH, photos:PATH "
            "or the path of an existing folder."
        )
    if not path.is_dir():
        raise DataError(f"{spec!r}: {path} is a file; a data source is a folder of pictures.")
    return path


def _existing_file(text: str, spec: str) -> Path:
    path = Path(text).expanduser()
    if not path.is_file():
        raise DataError(
            f"{spec!r}: no such file; pack:FILE names a file written by "
            "`sketchpad dataset SPEC --pack FILE`."
        )
    return path


def detect_kind(path: Path) -> tuple[str, str]:
    """(kind, reason) for a folder: paired if it has sketches/ and images/, aligned if most
    pictures are twice as wide as tall (pix2pix's A | B), photos otherwise."""
    if has_subfolder(path, PairedSource.SKETCHES) and has_subfolder(path, PairedSource.IMAGES):
        return "paired", "it has sketches/ and images/ folders"
    files = list_files(path, recursive=True)
    step = max(1, len(files) // (ALIGNED_SAMPLE * 2))
    sizes: list[tuple[int, int]] = []
    for candidate in files[::step]:
        try:
            sizes.append(probe_image(candidate))
        except DataError:
            continue
        if len(sizes) == ALIGNED_SAMPLE:
            break
    if not sizes:
        raise DataError(f"{path}: no readable pictures in this folder or below it.")
    wide = sum(1 for w, h in sizes if abs(w - 2 * h) <= max(2, w // 50))
    if wide >= ALIGNED_SHARE * len(sizes):
        return "aligned", f"{wide} of {len(sizes)} sampled pictures are two halves side by side"
    return "photos", "its pictures are not side-by-side pairs, so lines will be extracted"


def open_source(
    spec: str,
    *,
    resolution: int,
    split: str = "train",
    direction: str = "AtoB",
    augment: AugmentConfig | None = None,
    seed: int = 0,
    line_params: LineParams | None = None,
    progress: ProgressFn | None = None,
    warn: bool = True,
    hints: HintConfig | None = None,
) -> PairDataset:
    """Open a `--data SPEC` as a dataset of one split; augment=None means no augmentation;
    `hints` samples colour hints for each item (see `PairDataset`).
    Another split of the same data: `dataset.with_split(...)`, which reads no file again.

    `progress(done, total)` is called while OpenMoji renders (first use at a resolution only).
    Skipped files are listed in the dataset's `skipped`, and reported once as a DataWarning
    unless `warn` is False (for a caller that shows `describe()` itself).
    """
    if not isinstance(resolution, int) or not 8 <= resolution <= 4096:
        raise ConfigError(f"resolution must be an integer from 8 to 4096, got {resolution!r}")
    if split not in SPLIT_CHOICES:
        raise ConfigError(f"split must be one of {', '.join(SPLIT_CHOICES)}, got {split!r}")
    if direction not in DIRECTIONS:
        raise ConfigError(f"direction must be AtoB or BtoA, got {direction!r}")
    parsed = parse_spec(spec)
    if direction != "AtoB" and parsed.kind != "aligned":
        raise ConfigError(
            f"--direction {direction} applies to aligned data only, not {parsed.kind}"
        )
    source = _build(parsed, resolution, direction, line_params, progress)
    if warn:
        warn_skipped(str(parsed.path or parsed.kind), source.skipped)
    return PairDataset(
        source,
        resolution=resolution,
        split=split,
        augment=augment,
        seed=seed,
        detected=parsed.detected,
        detection=parsed.detection,
        warn=warn,
        hints=hints,
    )


def _build(
    spec: DataSpec,
    resolution: int,
    direction: str,
    line_params: LineParams | None,
    progress: ProgressFn | None,
) -> PairSource:
    if spec.kind == "openmoji":
        from sketchpad.data.openmoji import OpenMojiSource

        return OpenMojiSource(resolution, progress=progress)
    assert spec.path is not None
    if spec.kind == "pack":
        return PackSource(spec.path, resolution)
    if spec.kind == "aligned":
        return AlignedSource(spec.path, direction)
    if spec.kind == "paired":
        return PairedSource(spec.path)
    return PhotoSource(spec.path, line_params)
