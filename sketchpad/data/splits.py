"""Train / val / test splits: a stable hash of each item's name, never its position in a list.

Rule: bucket = int(sha1(key as UTF-8)[:8 hex digits], 16) % 100; buckets 0-89 are train (90%),
90-94 val (5%), 95-99 test (5%). The key is the file stem (OpenMoji: "1F600"; paired folders:
the shared stem) or, for folders read recursively, the path relative to the root without its
extension ("cats/tom"). Adding or removing files never moves another file to another split.

Folder sources whose files sit in top-level `train/`, `val/` or `test/` folders (pix2pix's
layout: edges2shoes, facades...) keep that split instead.

A requested split that is empty while the source has files falls back, with a note:
val -> test -> train, test -> val -> train, train -> all.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol, TypeVar

SPLITS = ("train", "val", "test")
"""The three disjoint splits; "all" is their union."""
SPLIT_CHOICES = (*SPLITS, "all")
SPLIT_PERCENT = {"train": 90, "val": 5, "test": 5}

_FALLBACKS = {"train": ("all",), "val": ("test", "train"), "test": ("val", "train"), "all": ()}


class HasSplit(Protocol):
    @property
    def split(self) -> str: ...


T = TypeVar("T", bound=HasSplit)


def split_of(key: str) -> str:
    """The split of an item, from its key alone."""
    bucket = int(hashlib.sha1(key.encode("utf-8")).hexdigest()[:8], 16) % 100
    if bucket < SPLIT_PERCENT["train"]:
        return "train"
    if bucket < SPLIT_PERCENT["train"] + SPLIT_PERCENT["val"]:
        return "val"
    return "test"


def count_splits(items: Sequence[HasSplit]) -> dict[str, int]:
    counts = dict.fromkeys(SPLITS, 0)
    for item in items:
        counts[item.split] += 1
    return counts


def select_split(items: Sequence[T], split: str) -> tuple[list[T], str, str | None]:
    """The items of `split`: (items, split actually used, note when it fell back)."""
    if split not in SPLIT_CHOICES:
        raise ValueError(f"split must be one of {', '.join(SPLIT_CHOICES)}, got {split!r}")
    chosen = _members(items, split)
    if chosen or not items:
        return chosen, split, None
    for fallback in _FALLBACKS[split]:
        chosen = _members(items, fallback)
        if chosen:
            note = (
                f"the {split} split is empty (too few files for 90/5/5), "
                f"so the {fallback} split ({len(chosen)} pairs) is used instead"
            )
            return chosen, fallback, note
    return [], split, None


def _members(items: Sequence[T], split: str) -> list[T]:
    return list(items) if split == "all" else [item for item in items if item.split == split]
