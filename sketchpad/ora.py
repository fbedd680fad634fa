"""OpenRaster (`.ora`) sketches: the ink and the colour hints as two layers that Krita, GIMP
and MyPaint open.

A file is a zip whose first entry is `mimetype` (stored, uncompressed: `image/openraster`),
then `stack.xml` (the layers, topmost first), one PNG per layer under `data/`,
`Thumbnails/thumbnail.png` (at most 256 px) and `mergedimage.png` (the layers composited).
Sketchpad writes two layers: "Colour hints" (opaque dabs on transparency, shown at 65%
opacity) above "Ink" (black lines on white paper), and the noise seed of the picture the user
kept as `sketchpad-seed` on `stack.xml`'s root (other programs ignore an attribute they do not
know; a missing or odd one reads as no seed).

Reading takes the layer named "Ink" and the one whose name holds "hint"; a file from another
program without them gives its visible layers composited on white as the ink, and no hints.
Nothing in a file is trusted: the archive, its entries, the XML and every picture are bounded
in size before they are decoded, and whatever is wrong raises a `DataError` that says so.
No Qt here (zipfile, Pillow and NumPy).
"""

from __future__ import annotations

import io
import math
import warnings
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from sketchpad.checkpoint import atomic_write_bytes
from sketchpad.errors import DataError

MIMETYPE = b"image/openraster"
INK_NAME = "Ink"
HINTS_NAME = "Colour hints"
HINTS_OPACITY = 0.65
"""How translucent the hint layer is shown over the ink (the canvas shows it so too)."""
THUMBNAIL_SIDE = 256

MAX_FILE_BYTES = 256 * 2**20
MAX_ENTRIES = 256
MAX_LAYERS = 64
MAX_ENTRY_BYTES = 64 * 2**20
"""The most bytes one entry may inflate to (read, not trusted from the zip's directory)."""
MAX_TOTAL_BYTES = 256 * 2**20
MAX_XML_BYTES = 2**20
MAX_SIDE = 8192
MAX_PIXELS = 40_000_000


@dataclass(frozen=True)
class OraSketch:
    """A sketch read from a file: `ink` (H, W, 3) uint8, dark lines on light paper; `hints`
    (H, W, 4) uint8 RGBA, opaque where a colour was asked for (None: the file has none)."""

    ink: np.ndarray
    hints: np.ndarray | None
    seed: int | None = None
    """The noise seed of the picture kept with the sketch (None: the file has none)."""


# -- writing ---------------------------------------------------------------------------------


MAX_SEED = 2**31
SEED_ATTRIBUTE = "sketchpad-seed"


def seed_from_text(text: str | None) -> int | None:
    """A seed written in a file (decimal, 0 ≤ seed < 2³¹), or None for anything else."""
    if text is None or not text.isascii() or not text.isdigit() or len(text) > 10:
        return None
    value = int(text)
    return value if value < MAX_SEED else None


def ora_bytes(ink: np.ndarray, hints: np.ndarray | None, seed: int | None = None) -> bytes:
    """The `.ora` file of `ink` ((H, W, 3) or (H, W, 4) uint8; alpha ignored), `hints`
    ((H, W, 4) uint8 RGBA of the same size, or None: an empty hint layer) and the picture's
    noise `seed` (None: none)."""
    ink_rgb = _rgb(ink)
    h, w = ink_rgb.shape[:2]
    if hints is None:
        hints = np.zeros((h, w, 4), np.uint8)
    if hints.ndim != 3 or hints.shape != (h, w, 4) or hints.dtype != np.uint8:
        raise ValueError(f"hints must be ({h}, {w}, 4) uint8, got {hints.shape} {hints.dtype}")
    ink_image = Image.fromarray(ink_rgb, "RGB")
    hints_image = Image.fromarray(np.ascontiguousarray(hints), "RGBA")
    merged = _merged(ink_image, hints_image)
    thumbnail = merged.copy()
    thumbnail.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.LANCZOS)
    if seed is not None and not 0 <= seed < MAX_SEED:
        raise ValueError(f"a seed is in [0, 2**31), got {seed}")
    seed_attr = "" if seed is None else f' {SEED_ATTRIBUTE}="{seed}"'
    stack = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<image version="0.0.5" w="{w}" h="{h}" xres="72" yres="72"{seed_attr}>\n'
        "  <stack>\n"
        f'    <layer name="{HINTS_NAME}" src="data/hints.png" x="0" y="0" '
        f'opacity="{HINTS_OPACITY}" visibility="visible" composite-op="svg:src-over"/>\n'
        f'    <layer name="{INK_NAME}" src="data/ink.png" x="0" y="0" opacity="1.0" '
        'visibility="visible" composite-op="svg:src-over"/>\n'
        "  </stack>\n"
        "</image>\n"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), MIMETYPE, compress_type=zipfile.ZIP_STORED)
        deflated = zipfile.ZIP_DEFLATED
        zf.writestr("stack.xml", stack.encode("utf-8"), compress_type=deflated)
        # PNGs are compressed already: stored, as Krita and MyPaint do
        for name, image in (
            ("data/hints.png", hints_image),
            ("data/ink.png", ink_image),
            ("Thumbnails/thumbnail.png", thumbnail),
            ("mergedimage.png", merged),
        ):
            zf.writestr(name, _png(image), compress_type=zipfile.ZIP_STORED)
    return out.getvalue()


def write_ora(
    path: str | Path, ink: np.ndarray, hints: np.ndarray | None, seed: int | None = None
) -> Path:
    """Write the `.ora` file atomically (a crash leaves the old file or the new one). Raises
    DataError when the folder cannot be written."""
    path = Path(path)
    data = ora_bytes(ink, hints, seed)
    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise DataError(f"{path}: cannot write the file ({exc.strerror or exc})") from exc
    return path


def _rgb(ink: np.ndarray) -> np.ndarray:
    if ink.ndim != 3 or ink.shape[2] not in (3, 4) or ink.dtype != np.uint8:
        raise ValueError(f"ink must be (H, W, 3 or 4) uint8, got {ink.shape} {ink.dtype}")
    return np.ascontiguousarray(ink[..., :3])


def _merged(ink: Image.Image, hints: Image.Image) -> Image.Image:
    """The hints at their layer opacity over the ink: what the stack looks like."""
    alpha = np.asarray(hints.getchannel("A"), np.float32) * HINTS_OPACITY
    faded = hints.copy()
    faded.putalpha(Image.fromarray(np.round(alpha).astype(np.uint8), "L"))
    return Image.alpha_composite(ink.convert("RGBA"), faded).convert("RGB")


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=6)
    return buffer.getvalue()


# -- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layer:
    name: str
    src: str
    x: int
    y: int
    opacity: float
    visible: bool


def read_ora(path: str | Path) -> OraSketch:
    """Read a `.ora` sketch. Raises DataError (naming the file and what is wrong) for a file
    that is missing, not an OpenRaster zip, damaged, or too large to be a sketch."""
    path = Path(path)
    name = path.name
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DataError(f"{name}: cannot read the file ({exc.strerror or exc})") from exc
    if size > MAX_FILE_BYTES:
        raise DataError(
            f"{name}: the file is {size / 2**20:.0f} MiB; a sketch file is at most "
            f"{MAX_FILE_BYTES // 2**20} MiB"
        )
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise DataError(_not_openraster(name, "it is not a zip archive")) from exc
    except OSError as exc:
        raise DataError(f"{name}: cannot read the file ({exc.strerror or exc})") from exc
    with zf:
        try:
            return _read(zf, name)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
            raise DataError(f"{name}: the OpenRaster file is damaged ({exc})") from exc


def _not_openraster(name: str, why: str) -> str:
    """What every "not an OpenRaster file" error says: `why`, and what to open instead."""
    return (
        f"{name}: not an OpenRaster file ({why}). Open a .ora saved by Sketchpad, Krita, GIMP "
        "or MyPaint, or a picture."
    )


def _read(zf: zipfile.ZipFile, name: str) -> OraSketch:
    entries = zf.infolist()
    if len(entries) > MAX_ENTRIES:
        raise DataError(f"{name}: {len(entries)} entries; a sketch file has at most {MAX_ENTRIES}")
    budget = _Budget(name)
    names = {e.filename: e for e in entries}
    if "mimetype" in names and budget.read(zf, names["mimetype"]).strip() != MIMETYPE:
        raise DataError(_not_openraster(name, "its mimetype is not image/openraster"))
    if "stack.xml" not in names:
        raise DataError(_not_openraster(name, "it has no stack.xml"))
    w, h, layers, seed = _stack(budget.read(zf, names["stack.xml"], MAX_XML_BYTES), name)
    for layer in layers:
        if layer.src not in names:
            raise DataError(f"{name}: the layer {layer.name!r} names a missing picture {layer.src}")
    ink_layer = next((lay for lay in layers if lay.name.strip().lower() == "ink"), None)
    hint_layer = next((lay for lay in layers if "hint" in lay.name.lower()), None)

    def picture(layer: _Layer) -> Image.Image:
        return _layer_picture(budget.read(zf, names[layer.src]), layer, w, h, name)

    if ink_layer is not None:
        ink = _on_white([picture(ink_layer)])
    else:  # another program's file: what it shows, hints aside, is the drawing
        shown = [lay for lay in reversed(layers) if lay.visible and lay is not hint_layer]
        if not shown:
            raise DataError(f"{name}: the file has no visible layer to take the drawing from")
        ink = _on_white([_faded(picture(lay), lay.opacity) for lay in shown])
    hints = None
    if hint_layer is not None:
        hints = np.asarray(picture(hint_layer).convert("RGBA"), np.uint8).copy()
        if not hints[..., 3].any():
            hints = None
    return OraSketch(np.asarray(ink, np.uint8).copy(), hints, seed)


class _Budget:
    """Reads entries with a cap on each and on them all, whatever the zip claims."""

    def __init__(self, name: str) -> None:
        self.name, self.left = name, MAX_TOTAL_BYTES

    def read(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int | None = None) -> bytes:
        limit = min(MAX_ENTRY_BYTES if limit is None else limit, self.left)
        if info.file_size > limit:
            raise DataError(self._too_large(info))
        with zf.open(info) as f:
            data = f.read(limit + 1)
        if len(data) > limit:
            raise DataError(self._too_large(info))
        self.left -= len(data)
        return data

    def _too_large(self, info: zipfile.ZipInfo) -> str:
        return (
            f"{self.name}: {info.filename} is too large for a sketch (it unpacks to more than "
            f"{MAX_ENTRY_BYTES // 2**20} MiB); the file may be damaged or not a sketch"
        )


def _stack(data: bytes, name: str) -> tuple[int, int, list[_Layer], int | None]:
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise DataError(
            f"{name}: stack.xml declares a DOCTYPE or entities, which OpenRaster has not"
        )
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise DataError(f"{name}: stack.xml is not valid XML ({exc})") from exc
    if root.tag != "image":
        raise DataError(f"{name}: stack.xml does not describe an image (its root is <{root.tag}>)")
    w, h = _int(root, "w", name), _int(root, "h", name)
    if not (1 <= w <= MAX_SIDE and 1 <= h <= MAX_SIDE) or w * h > MAX_PIXELS:
        raise DataError(
            f"{name}: the image is {w} × {h} px; a sketch is at most {MAX_SIDE} px a side "
            f"and {MAX_PIXELS // 1_000_000} megapixels"
        )
    layers = [
        _Layer(
            name=el.get("name", ""),
            src=el.get("src", ""),
            x=_int(el, "x", name, 0),
            y=_int(el, "y", name, 0),
            opacity=_opacity(el, name),
            visible=el.get("visibility", "visible") != "hidden",
        )
        for el in root.iter("layer")
    ]
    if not layers:
        raise DataError(f"{name}: stack.xml lists no layers")
    if len(layers) > MAX_LAYERS:
        raise DataError(f"{name}: {len(layers)} layers; a sketch file has at most {MAX_LAYERS}")
    return w, h, layers, seed_from_text(root.get(SEED_ATTRIBUTE))


def _int(el: ET.Element, key: str, name: str, default: int | None = None) -> int:
    value = el.get(key)
    if value is None and default is not None:
        return default
    try:
        number = float(value) if value is not None else math.nan
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or abs(number) > 10 * MAX_SIDE:
        raise DataError(f"{name}: stack.xml has a bad {key}={value!r} on <{el.tag}>")
    return int(number)


def _opacity(el: ET.Element, name: str) -> float:
    try:
        value = float(el.get("opacity", "1"))
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:  # NaN fails too
        raise DataError(f"{name}: stack.xml has a bad opacity {el.get('opacity')!r}")
    return value


def _layer_picture(data: bytes, layer: _Layer, w: int, h: int, name: str) -> Image.Image:
    """The layer's PNG placed on a transparent w × h picture at its offset. Its size is
    checked from its header, before anything is decoded."""

    def too_large(size: tuple[int, int] | None) -> DataError:
        said = f" is {size[0]} × {size[1]} px;" if size else " is too large:"
        return DataError(
            f"{name}: the layer {layer.name!r}{said} a sketch's layers are at most {MAX_SIDE} "
            f"px a side and {MAX_PIXELS // 1_000_000} megapixels"
        )

    size = _png_size(data)
    if size is not None and not _fits(*size):
        raise too_large(size)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if not _fits(*image.size):
                raise too_large(image.size)
            image = image.convert("RGBA")
    except Image.DecompressionBombError as exc:
        raise too_large(size) from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise DataError(
            f"{name}: the layer {layer.name!r} is not a readable picture ({exc})"
        ) from exc
    if image.size == (w, h) and layer.x == 0 and layer.y == 0:
        return image
    placed = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    placed.paste(image, (layer.x, layer.y))
    return placed


def _png_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from a PNG's header (None: not a PNG)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR" or len(data) < 24:
        return None
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _fits(w: int, h: int) -> bool:
    return 1 <= w <= MAX_SIDE and 1 <= h <= MAX_SIDE and w * h <= MAX_PIXELS


def _faded(image: Image.Image, opacity: float) -> Image.Image:
    if opacity >= 1.0:
        return image
    alpha = np.asarray(image.getchannel("A"), np.float32) * opacity
    image = image.copy()
    image.putalpha(Image.fromarray(np.round(alpha).astype(np.uint8), "L"))
    return image


def _on_white(layers: list[Image.Image]) -> Image.Image:
    """`layers` (bottom first, at least one) composited on white paper, as RGB."""
    out = Image.new("RGBA", layers[0].size, (255, 255, 255, 255))
    for layer in layers:
        out = Image.alpha_composite(out, layer)
    return out.convert("RGB")
