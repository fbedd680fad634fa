"""The user's folders: pix2pix aligned pairs, sketches/ + images/ pairs, and plain photos."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import torch

from sketchpad.data.base import PairItem, PairSource
from sketchpad.data.lines import LineParams
from sketchpad.data.splits import SPLITS, split_of
from sketchpad.errors import DataError
from sketchpad.sketch import (
    image_to_tensor,
    load_image,
    photo_to_sketch,
    probe_image,
    sketch_to_tensor,
)

IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".bmp", ".gif", ".tif", ".tiff", ".webp"}
    | {".ppm", ".pgm", ".pbm", ".pnm", ".tga"}
)
"""Suffixes matched across sketches/ and images/; other folders accept any file PIL can read."""

_IGNORED = frozenset({"thumbs.db", "desktop.ini", "icon\r"})


def list_files(root: Path, *, recursive: bool) -> list[Path]:
    """Candidate files under root, sorted; hidden files and OS clutter are left out silently."""
    if not recursive:
        return sorted(p for p in root.iterdir() if p.is_file() and not _ignored(p.name))
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(Path(folder) / f for f in files if not _ignored(f))
    return sorted(found)


def _ignored(name: str) -> bool:
    return name.startswith(".") or name.lower() in _IGNORED


def reason_of(exc: DataError, path: Path) -> str:
    """A DataError's message without the leading "PATH: "."""
    text = str(exc)
    prefix = f"{path}: "
    return text[len(prefix) :] if text.startswith(prefix) else text


def split_key(path: Path, root: Path) -> tuple[str, str]:
    """(split, name) of a file: a top-level train/val/test folder decides, else the hash."""
    relative = path.relative_to(root)
    parts = relative.parts
    name = relative.as_posix()
    if len(parts) > 1 and parts[0].lower() in SPLITS:
        return parts[0].lower(), name
    return split_of(relative.with_suffix("").as_posix()), name


class _ScannedFolder(PairSource):
    """Common to folder sources: probe every file's header up front, keep the readable ones."""

    def _probe_all(self, files: list[Path]) -> Iterator[tuple[Path, tuple[int, int]]]:
        for path in files:
            try:
                yield path, probe_image(path)
            except DataError as exc:
                self.skipped.append((str(path), reason_of(exc, path)))

    def _require_items(self, what: str) -> None:
        if not self.items:
            detail = f" ({len(self.skipped)} files could not be used)" if self.skipped else ""
            raise DataError(f"{self.root}: no usable {what} found{detail}.")


class AlignedSource(_ScannedFolder):
    """pix2pix's aligned format: A and B side by side in one picture (A left, B right)."""

    kind = "aligned"

    def __init__(self, root: Path, direction: str = "AtoB") -> None:
        super().__init__()
        if direction not in ("AtoB", "BtoA"):
            raise DataError(f"direction must be AtoB or BtoA, got {direction!r}")
        self.root = root
        self.direction = direction
        for path, (w, _h) in self._probe_all(list_files(root, recursive=True)):
            if w < 2 * 8:
                self.skipped.append((str(path), f"{w} pixels wide: too narrow for two halves"))
                continue
            split, name = split_key(path, root)
            self.items.append(PairItem(name=name, split=split, paths=(path,)))
        self._require_items("side-by-side pictures")

    def load(self, item: PairItem, resolution: int) -> tuple[torch.Tensor, torch.Tensor]:
        picture = load_image(item.paths[0])
        half = picture.width // 2  # as pix2pix: A = [0, w/2), B = [w/2, w)
        a = picture.crop((0, 0, half, picture.height))
        b = picture.crop((half, 0, picture.width, picture.height))
        sketch, image = (a, b) if self.direction == "AtoB" else (b, a)
        return sketch_to_tensor(sketch, resolution), image_to_tensor(image, resolution)


class PairedSource(_ScannedFolder):
    """`root/sketches/` and `root/images/` holding files with matching stems."""

    kind = "paired"
    SKETCHES = "sketches"
    IMAGES = "images"

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root
        sketches = self._by_stem(find_subfolder(root, self.SKETCHES))
        images = self._by_stem(find_subfolder(root, self.IMAGES))
        unmatched = [
            (p, f"no matching file in {self.IMAGES}/")
            for s, p in sketches.items()
            if s not in images
        ]
        unmatched += [
            (p, f"no matching file in {self.SKETCHES}/")
            for s, p in images.items()
            if s not in sketches
        ]
        unmatched.sort()
        common = sorted(sketches.keys() & images.keys())
        if not common:
            listed = ", ".join(f"{p.parent.name}/{p.name}" for p, _ in unmatched[:6])
            more = f" and {len(unmatched) - 6} more" if len(unmatched) > 6 else ""
            raise DataError(
                f"{root}: no sketch in {self.SKETCHES}/ has a picture with the same name in "
                f"{self.IMAGES}/ (unmatched: {listed or 'none'}{more}). "
                "Name each pair alike, e.g. sketches/cat.png and images/cat.jpg."
            )
        self.skipped.extend((str(p), reason) for p, reason in unmatched)
        for stem in common:
            sketch_path, image_path = sketches[stem], images[stem]
            ok = True
            for path in (sketch_path, image_path):
                try:
                    probe_image(path)
                except DataError as exc:
                    self.skipped.append((str(path), reason_of(exc, path)))
                    ok = False
            if ok:
                self.items.append(
                    PairItem(name=stem, split=split_of(stem), paths=(sketch_path, image_path))
                )
        self._require_items("sketch/picture pairs")

    def _by_stem(self, folder: Path) -> dict[str, Path]:
        by_stem: dict[str, Path] = {}
        for path in list_files(folder, recursive=False):
            if path.suffix.lower() not in IMAGE_EXTENSIONS:
                self.skipped.append((str(path), "not a picture file extension"))
            elif path.stem in by_stem:
                self.skipped.append((str(path), f"same name as {by_stem[path.stem].name}"))
            else:
                by_stem[path.stem] = path
        return by_stem

    def load(self, item: PairItem, resolution: int) -> tuple[torch.Tensor, torch.Tensor]:
        sketch_path, image_path = item.paths
        return (
            sketch_to_tensor(load_image(sketch_path), resolution),
            image_to_tensor(load_image(image_path), resolution),
        )


class PhotoSource(_ScannedFolder):
    """A folder (read recursively) of photos; each one's line drawing is extracted (XDoG)."""

    kind = "photos"

    def __init__(self, root: Path, line_params: LineParams | None = None) -> None:
        super().__init__()
        self.root = root
        self.line_params = line_params or LineParams()
        for path, _size in self._probe_all(list_files(root, recursive=True)):
            split, name = split_key(path, root)
            self.items.append(PairItem(name=name, split=split, paths=(path,)))
        self._require_items("pictures")

    def load(self, item: PairItem, resolution: int) -> tuple[torch.Tensor, torch.Tensor]:
        picture = load_image(item.paths[0])
        return (
            photo_to_sketch(picture, resolution, self.line_params),
            image_to_tensor(picture, resolution),
        )


def find_subfolder(root: Path, name: str) -> Path:
    """root/name, matching the name without regard to case; DataError when absent."""
    exact = root / name
    if exact.is_dir():
        return exact
    for child in root.iterdir():
        if child.is_dir() and child.name.lower() == name:
            return child
    raise DataError(f"{root}: has no {name}/ folder.")


def has_subfolder(root: Path, name: str) -> bool:
    try:
        find_subfolder(root, name)
    except DataError:
        return False
    return True
