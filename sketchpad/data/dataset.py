"""PairDataset: one split of a source, normalised and augmented exactly as the trainer sees it."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch.utils.data import Dataset

from sketchpad.data.augment import AugmentConfig, augment_pair, pair_generator
from sketchpad.data.base import (
    DataWarning,
    PairItem,
    PairSource,
    list_skipped,
    summarize_skipped,
)
from sketchpad.data.folders import reason_of
from sketchpad.data.hints import HintConfig, sample_training_hints
from sketchpad.data.splits import count_splits, select_split
from sketchpad.errors import DataError

DEFAULT_MEMORY_BYTES = 512 * 2**20
"""Loaded (un-augmented) pairs are kept in memory up to this size: later epochs decode nothing."""


class PairDataset(Dataset):
    """Items are dicts: sketch (1, R, R) float ink, image (3, R, R) float in [-1, 1], name str,
    and with `hints` a HintConfig, hints (4, R, R): colour hints sampled from the augmented
    target (`sketchpad.data.hints`), so they move with the augmentation.

    Augmentation depends only on (seed, epoch, index): call `set_epoch` at each epoch. A file
    that fails to load is recorded in the source's `skipped` and replaced by the next usable
    item, so one bad file never stops an epoch (with DataLoader workers, each worker keeps its
    own record). Datasets of other splits of the same source (`with_split`) share that record.

    `warn`: report a split fallback and files that fail to load as DataWarnings too (False when
    the caller shows `describe()` itself).
    """

    def __init__(
        self,
        source: PairSource,
        *,
        resolution: int,
        split: str = "train",
        augment: AugmentConfig | None = None,
        seed: int = 0,
        detected: bool = False,
        detection: str | None = None,
        memory_bytes: int = DEFAULT_MEMORY_BYTES,
        warn: bool = True,
        hints: HintConfig | None = None,
    ) -> None:
        self.source = source
        self.hints = hints
        self.kind = source.kind
        self.root: Path | None = source.root
        self.credit = source.credit
        self.resolution = resolution
        self.requested_split = split
        self.augment = augment or AugmentConfig.off()
        self.seed = seed
        self.epoch = 0
        self.warn = warn
        self.memory_bytes = memory_bytes
        self.detected = detected
        self.detection = detection
        self.counts = count_splits(source.items)
        self.items, self.split, fallback = select_split(source.items, split)
        self.notes = list(source.notes)
        if fallback:
            self.notes.append(fallback)
            if warn:
                warnings.warn(fallback, DataWarning, stacklevel=2)
        if not self.items:
            raise DataError(f"{self._where()}: no usable pair in the {split} split.")
        self._bad: set[int] = set()
        self._memory: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        self._memory_left = memory_bytes if source.keep_in_memory else 0

    @property
    def skipped(self) -> list[tuple[str, str]]:
        """(file, reason) for every file left out: when listed, and when loading failed."""
        return list(self.source.skipped)

    def with_split(
        self,
        split: str,
        *,
        augment: AugmentConfig | None = None,
        hints: HintConfig | None = None,
    ) -> PairDataset:
        """Another split of the same source, which is not listed (nor warned about) again."""
        return PairDataset(
            self.source,
            resolution=self.resolution,
            split=split,
            augment=augment,
            seed=self.seed,
            detected=self.detected,
            detection=self.detection,
            memory_bytes=self.memory_bytes,
            warn=self.warn,
            hints=hints,
        )

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | str]:
        if not 0 <= index < len(self.items):
            raise IndexError(index)
        position, sketch, image = self._load_usable(index)
        if self.augment.enabled:
            generator = pair_generator(self.seed, self.epoch, index)
            sketch, image = augment_pair(sketch, image, self.augment, generator)
        item: dict[str, torch.Tensor | str] = {
            "sketch": sketch,
            "image": image,
            "name": self.items[position].name,
        }
        if self.hints is not None:
            image, item["hints"] = sample_training_hints(
                image, self.seed, self.epoch, index, self.hints
            )
            item["image"] = image
        return item

    def _load_usable(self, index: int) -> tuple[int, torch.Tensor, torch.Tensor]:
        n = len(self.items)
        for step in range(n):
            position = (index + step) % n
            if position in self._bad:
                continue
            cached = self._memory.get(position)
            if cached is not None:
                return position, cached[0].clone(), cached[1].clone()
            item = self.items[position]
            try:
                sketch, image = self.source.load(item, self.resolution)
            except DataError as exc:
                self._record_failure(position, item, exc)
                continue
            self._remember(position, sketch, image)
            return position, sketch, image
        raise DataError(f"{self._where()}: none of the {n} pairs could be loaded.")

    def _record_failure(self, position: int, item: PairItem, exc: DataError) -> None:
        self._bad.add(position)
        path = next((p for p in item.paths if str(p) in str(exc)), None)
        entry = (str(path), reason_of(exc, path)) if path else (item.name, str(exc))
        if entry in self.source.skipped:
            return  # met already, by another dataset of this source
        self.source.skipped.append(entry)
        if self.warn:
            warnings.warn(
                f"{self._where()}: skipping {Path(entry[0]).name}: {entry[1]}",
                DataWarning,
                stacklevel=3,
            )

    def _remember(self, position: int, sketch: torch.Tensor, image: torch.Tensor) -> None:
        size = sketch.numel() * sketch.element_size() + image.numel() * image.element_size()
        if size <= self._memory_left:
            self._memory[position] = (sketch.clone(), image.clone())
            self._memory_left -= size

    def _where(self) -> str:
        return f"{self.kind} data in {self.root}" if self.root else f"{self.kind} data"

    def describe(self, *, list_skipped_files: bool = False, limit: int | None = None) -> str:
        """One paragraph for people: kind (and why), counts per split, skipped files (a few
        named), or with `list_skipped_files` every skipped file (up to `limit`) on its own line
        after the paragraph. Count and names come from the one record, read once."""
        skipped = self.skipped
        how = f"detected as {self.kind}" if self.detected else self.kind
        if self.detected and self.detection:
            how += f" ({self.detection})"
        where = f" in {self.root}" if self.root else ""
        total = sum(self.counts.values())
        counts = ", ".join(f"{name} {count}" for name, count in self.counts.items())
        text = (
            f"{_upper_first(how)}{where}: {total} pairs — {counts}. "
            f"Using {self.split}: {len(self.items)} pairs at {self.resolution}×{self.resolution}"
        )
        text += ", augmented." if self.augment.enabled else ", not augmented."
        for note in self.notes:
            text += f" Note: {note}."
        if skipped and not list_skipped_files:
            text += f" {_upper_first(summarize_skipped(skipped))}."
        if self.credit:
            text += f" {self.credit}"
        if skipped and list_skipped_files:
            text += f"\n{_upper_first(list_skipped(skipped, limit))}"
        return text


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]
