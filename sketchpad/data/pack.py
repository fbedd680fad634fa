"""A pack: a data source's pairs rendered at one resolution into one compressed file, so that
training runs where the source cannot be opened (a GPU machine without Qt, the OpenMoji
package or the user's folders):

    sketchpad dataset --data openmoji --resolution 128 --pack openmoji-128.npz
    sketchpad train --data pack:openmoji-128.npz ...

The file is a NumPy .npz (zip of .npy arrays, read with allow_pickle=False, so loading it runs
no code): `ink` (N, R, R) uint8 (the sketch's ink × 255), `image` (N, R, R, 3) uint8 RGB,
`name` and `split` (N,) fixed-width unicode, and `meta` (a JSON text as uint8: format, source,
resolution, credit). Each item keeps the split its source gave it, so a model trained on a
pack of OpenMoji is evaluated on the same test split. 2,166 OpenMoji pairs at 128 px take
about 10 MB.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sketchpad.data.base import PairItem, PairSource
from sketchpad.data.splits import SPLITS
from sketchpad.errors import DataError

PACK_FORMAT = 1
MAX_PACK_ITEMS = 100_000
"""The most pairs a pack may hold."""
MAX_PACK_RESOLUTION = 1024
MAX_PACK_BYTES = 8 * 2**30
"""The most bytes a pack's arrays may take once unpacked (a bound for a hostile file)."""
ARRAYS = ("ink", "image", "name", "split", "meta")


def write_pack(source: PairSource, resolution: int, path: Path) -> dict[str, Any]:
    """Render every item of `source` at `resolution` into the pack `path` (written to a
    temporary file beside it, then renamed); items that fail to load are left out and listed
    in the returned summary {"count", "skipped", "bytes", "path"}."""
    if not 8 <= resolution <= MAX_PACK_RESOLUTION:
        raise DataError(f"a pack holds pictures of 8 to {MAX_PACK_RESOLUTION} px, not {resolution}")
    if len(source.items) > MAX_PACK_ITEMS:
        raise DataError(f"{len(source.items)} pairs: a pack holds at most {MAX_PACK_ITEMS}")
    ink, image, names, splits, skipped = [], [], [], [], []
    for item in source.items:
        try:
            sketch, picture = source.load(item, resolution)
        except DataError as exc:
            skipped.append((item.name, str(exc)))
        else:
            ink.append(_to_bytes(sketch[0]))
            image.append(_to_bytes((picture.permute(1, 2, 0) + 1) / 2))
            names.append(item.name)
            splits.append(item.split)
    if not names:
        raise DataError("no pair of the source could be loaded, so there is nothing to pack")
    meta = {
        "format": PACK_FORMAT,
        "source": source.kind,
        "resolution": resolution,
        "credit": source.credit,
        "skipped": skipped,
    }
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "wb") as f:
            np.savez_compressed(
                f,
                ink=np.stack(ink),
                image=np.stack(image),
                name=np.array(names, dtype=str),
                split=np.array(splits, dtype=str),
                meta=np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8),
            )
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return {"count": len(names), "skipped": skipped, "bytes": path.stat().st_size, "path": path}


def _to_bytes(unit: torch.Tensor) -> np.ndarray:
    return (unit.clamp(0, 1) * 255).round().to(torch.uint8).numpy()


class PackSource(PairSource):
    """The pairs of a pack file (see the module), checked when opened; DataError when they are
    not at `resolution` (None: whatever the pack holds)."""

    kind = "pack"

    def __init__(self, path: Path, resolution: int | None = None) -> None:
        super().__init__()
        self.root = Path(path)
        arrays = read_pack(self.root)
        self.meta = arrays["meta"]
        self.resolution: int = self.meta["resolution"]
        if resolution is not None and resolution != self.resolution:
            raise DataError(
                f"{self.root} holds {self.resolution} px pictures and {resolution} px are "
                f"wanted; pack the data again with --resolution {resolution}"
            )
        self.credit = self.meta.get("credit")
        self._ink, self._image = arrays["ink"], arrays["image"]
        for name, split in zip(arrays["name"].tolist(), arrays["split"].tolist(), strict=True):
            self.items.append(PairItem(name=name, split=split))
        self._index = {item.name: i for i, item in enumerate(self.items)}
        self.skipped = [(str(name), str(reason)) for name, reason in self.meta.get("skipped", [])]
        self.notes.append(
            f"pack of {len(self.items)} {self.meta.get('source', '')} pairs at {self.resolution} px"
        )

    def load(self, item: PairItem, resolution: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The pair as packed (`resolution` is the pack's: the dataset opened it at that)."""
        i = self._index[item.name]
        ink = torch.from_numpy(self._ink[i].astype(np.float32) / 255)[None]
        image = torch.from_numpy(self._image[i].astype(np.float32) / 127.5 - 1.0)
        return ink, image.permute(2, 0, 1).contiguous()


def read_pack(path: Path) -> dict[str, Any]:
    """The arrays of a pack, checked: their kinds, shapes and sizes; DataError says what is
    wrong with a file that is not a pack (or a damaged one)."""
    if not path.is_file():
        raise DataError(f"{path}: no such pack file (make one with `sketchpad dataset --pack`)")
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
        if unpacked > MAX_PACK_BYTES:
            raise DataError(f"{path}: {unpacked} bytes unpacked, more than a pack may hold")
        with np.load(path, allow_pickle=False) as npz:
            missing = [key for key in ARRAYS if key not in npz.files]
            if missing:
                raise DataError(f"{path}: not a Sketchpad pack (it lacks {', '.join(missing)})")
            arrays = {key: npz[key] for key in ARRAYS}
        meta = json.loads(arrays["meta"].tobytes().decode("utf-8"))
    except DataError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a readable pack ({exc}); make it again") from exc
    if not isinstance(meta, dict) or meta.get("format") != PACK_FORMAT:
        raise DataError(f"{path}: a pack of another format; make it again with this version")
    ink, image, names, splits = (arrays[k] for k in ("ink", "image", "name", "split"))
    r = meta.get("resolution")
    n = len(names)
    if (
        not isinstance(r, int)
        or not 8 <= r <= MAX_PACK_RESOLUTION
        or not 1 <= n <= MAX_PACK_ITEMS
        or ink.dtype != np.uint8
        or image.dtype != np.uint8
        or ink.shape != (n, r, r)
        or image.shape != (n, r, r, 3)
        or names.dtype.kind != "U"
        or splits.shape != (n,)
        or splits.dtype.kind != "U"
    ):
        raise DataError(f"{path}: its arrays do not fit together (damaged pack); make it again")
    if len(set(names.tolist())) != n:
        raise DataError(f"{path}: the same pair name twice (damaged pack); make it again")
    unknown = set(splits.tolist()) - set(SPLITS)
    if unknown:
        raise DataError(f"{path}: unknown splits {sorted(unknown)} (damaged pack)")
    arrays["meta"] = meta
    return arrays
