"""What every data source provides: a list of items and a way to load one as tensors."""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

KINDS = ("openmoji", "aligned", "paired", "photos", "pack")
ProgressFn = Callable[[int, int], None]
"""progress(done, total), called while a source prepares its items (OpenMoji renders)."""


class DataWarning(UserWarning):
    """Something about a data source the user should know (skipped files, a split fallback)."""


@dataclass(frozen=True)
class PairItem:
    """One training pair as a source knows it, before anything is decoded."""

    name: str
    """Shown to users: a path relative to the source root, or an emoji's code points."""
    split: str
    paths: tuple[Path, ...] = ()
    """The files it is read from (empty for built-in data)."""


class PairSource(ABC):
    """A kind of data: lists its items up front, loads one on demand."""

    kind: str
    root: Path | None = None
    credit: str | None = None

    def __init__(self) -> None:
        self.items: list[PairItem] = []
        self.skipped: list[tuple[str, str]] = []
        """(file, reason) for every file left out, when listed or when it failed to load: the
        one record every report (warning, summary, list) reads."""
        self.notes: list[str] = []
        self.keep_in_memory = True
        """Whether the dataset should keep loaded pairs in memory (False: loading is cheap)."""

    @abstractmethod
    def load(self, item: PairItem, resolution: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(sketch (1, R, R) ink, image (3, R, R) in [-1, 1]); DataError if the files are bad."""


def count_skipped(skipped: Sequence[tuple[str, str]]) -> str:
    """ "1 file skipped", "3 files skipped" """
    return f"{len(skipped)} {'file' if len(skipped) == 1 else 'files'} skipped"


def summarize_skipped(skipped: Sequence[tuple[str, str]], few: int = 5) -> str:
    """ "3 files skipped: a.txt (not a picture), b.png (truncated), c.jpg (...)" """
    if not skipped:
        return "no files skipped"
    shown = ", ".join(f"{Path(name).name} ({_short(reason)})" for name, reason in skipped[:few])
    more = f" and {len(skipped) - few} more" if len(skipped) > few else ""
    return f"{count_skipped(skipped)}: {shown}{more}"


def list_skipped(skipped: Sequence[tuple[str, str]], limit: int | None = None) -> str:
    """Every skipped file on its own line, with its full reason (the first `limit` of them):
    "2 files skipped:\n  a.txt: not a picture…\n  b.png: …" """
    if not skipped:
        return "no files skipped"
    shown = skipped if limit is None else skipped[:limit]
    lines = [f"{count_skipped(skipped)}:", *(f"  {name}: {reason}" for name, reason in shown)]
    if len(shown) < len(skipped):
        lines.append(f"  … and {len(skipped) - len(shown)} more")
    return "\n".join(lines)


def warn_skipped(where: str, skipped: Sequence[tuple[str, str]]) -> None:
    if skipped:
        warnings.warn(f"{where}: {summarize_skipped(skipped)}", DataWarning, stacklevel=3)


def _short(reason: str, limit: int = 80) -> str:
    first = reason.split(". ", 1)[0].rstrip(".")
    return first if len(first) <= limit else first[: limit - 1] + "…"
