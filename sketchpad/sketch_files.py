"""Sketch files as `sketchpad generate` reads them: a picture (PNG, JPEG, ...: ink only) or an
OpenRaster `.ora` (`sketchpad.ora`: the ink layer and the colour-hint layer), and colour-hint
pictures (RGBA: transparent = no hint). Nothing in a file is trusted: pixels are bounded
before anything is decoded, and every way a file can be wrong raises DataError naming it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from sketchpad.errors import DataError
from sketchpad.ora import read_ora
from sketchpad.sketch import MIN_SIDE, load_image

MAX_HINT_PIXELS = 40_000_000
"""The largest hint picture decoded (as the largest OpenRaster sketch: 160 MB as RGBA)."""

_DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError)


@dataclass(frozen=True)
class SketchFile:
    """A sketch read from a file: `picture` (dark lines on light paper, PIL RGB or an (H, W, 3)
    uint8 array) and `hints` ((H, W, 4) uint8 RGBA of the same size; None: the file has none)."""

    picture: Image.Image | np.ndarray
    hints: np.ndarray | None = None


def load_sketch_file(path: str | Path) -> SketchFile:
    """A picture file (ink only) or a `.ora` (ink and hints). Raises DataError."""
    path = Path(path)
    if path.suffix.lower() == ".ora":
        ora = read_ora(path)
        return SketchFile(ora.ink, ora.hints)
    return SketchFile(load_image(path))


def load_hints_picture(path: str | Path) -> np.ndarray:
    """A colour-hint picture as (H, W, 4) uint8 RGBA: its colours where it is opaque, no hint
    where it is transparent. A picture without transparency is refused (it would hint every
    pixel), as are pictures over `MAX_HINT_PIXELS`, tiny ones and files that are not pictures."""
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path} is a folder; --hints takes one PNG with transparency.")
    try:
        with warnings.catch_warnings():  # our own limit is checked right after opening
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)  # lazy: only the header is read here
        with im:
            w, h = im.size
            if w * h > MAX_HINT_PIXELS:
                raise DataError(
                    f"{path}: the hints picture is {w}×{h} ({w * h / 1e6:.0f} megapixels), more "
                    f"than the {MAX_HINT_PIXELS / 1e6:.0f} megapixels Sketchpad reads. Scale it "
                    "down first (it is resized to the model's resolution anyway)."
                )
            if min(w, h) < MIN_SIDE:
                raise DataError(
                    f"{path}: the hints picture is only {w}×{h} pixels; at least "
                    f"{MIN_SIDE}×{MIN_SIDE} is needed."
                )
            transparent = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
                "transparency" in im.info
            )
            if not transparent:
                raise DataError(
                    f"{path}: the hints picture has no transparency, so it would set the colour "
                    "of every pixel. Paint the hints on a transparent layer and save it as PNG "
                    "(transparent = no hint)."
                )
            rgba = ImageOps.exif_transpose(im).convert("RGBA")
        return np.asarray(rgba, np.uint8).copy()
    except DataError:
        raise
    except FileNotFoundError as exc:
        raise DataError(f"{path}: no such file.") from exc
    except UnidentifiedImageError as exc:
        raise DataError(
            f"{path}: the hints file is not a picture Sketchpad can read; save the hints as a "
            "PNG with transparency."
        ) from exc
    except _DECODE_ERRORS as exc:
        reason = str(exc) or type(exc).__name__
        raise DataError(f"{path}: the hints picture is damaged ({reason}).") from exc
