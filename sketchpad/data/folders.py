"""The user's folders: pix2pix aligned pairs, sketches/ + images/ pairs, and plain photos."""

from __future__ import annotations

import os
import stat
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


def list_entries(root: Path, *, recursive: bool) -> tuple[list[Path], list[tuple[str, str]]]:
    """(files, skipped) under root, both sorted: the regular files (or links to them) to read,
    and (path, reason) for the entries that are not files to read (a named pipe, a device, a
    socket, a broken link), which could block or fail when opened. Folders, hidden files and
    OS clutter are left out silently."""
    if recursive:
        candidates: list[Path] = []
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            candidates.extend(Path(folder) / f for f in files if not _ignored(f))
    else:
        candidates = [p for p in root.iterdir() if not _ignored(p.name)]
    found: list[Path] = []
    skipped: list[tuple[str, str]] = []
    for path in sorted(candidates):
        why = _not_a_regular_file(path)
        if why is None:
            found.append(path)
        elif why:
            skipped.append((str(path), why))
    return found, skipped


def list_files(root: Path, *, recursive: bool) -> list[Path]:
    """The regular files under root, sorted (see `list_entries`)."""
    return list_entries(root, recursive=recursive)[0]


def _not_a_regular_file(path: Path) -> str | None:
    """Why `path` is not a file to read ("" for a folder: not worth a mention), or None."""
    try:
        mode = path.stat().st_mode  # through links: a link to a regular file is fine
    except FileNotFoundError:
        if path.is_symlink():
            return "a link to a file that does not exist. Remove the link or restore its file"
        return "no longer there"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return ""
    if stat.S_ISFIFO(mode):
        kind = "a named pipe (FIFO)"
    elif stat.S_ISSOCK(mode):
        kind = "a socket"
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        kind = "a device"
    else:
        kind = "a special file"
    return f"{kind}, not a regular file. Sketchpad reads picture files only: move it elsewhere"


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

    def _list(self, root: Path, *, recursive: bool) -> list[Path]:
        """The files to read under root; the entries that are not files are skipped."""
        files, not_files = list_entries(root, recursive=recursive)
        self.skipped.extend(not_files)
        return files

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
        for path, (w, _h) in self._probe_all(self._list(root, recursive=True)):
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
        for path in self._list(folder, recursive=False):
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
        for path, _size in self._probe_all(self._list(root, recursive=True)):
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
