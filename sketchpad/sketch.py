"""The one sketch normalisation: pictures and canvases in, model tensors out, and back.

Datasets, `sketchpad generate`, the inference engine and the GUI all call these functions, so
the model is always fed what training fed it.

Conventions:

- sketch tensor: float32 (1, R, R) in [0, 1], 1.0 = ink, 0.0 = paper ("ink density", so a
  convolution's zero padding reads as blank paper).
- image tensor (targets, generator output): float32 (3, R, R) in [-1, 1] (pix2pix).
- a picture that is not square is padded to a square with white paper (centred), then resized
  to R×R with `RESIZE_FILTER`, in every path.
- sketches have their paper level normalised: when the paper looks light grey (a scan, a photo
  of a page), the `PAPER_PERCENTILE` brightness is stretched to white.

"""

from __future__ import annotations

import math
import struct
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

from sketchpad.errors import DataError

if TYPE_CHECKING:
    from sketchpad.data.lines import LineParams

RESIZE_FILTER = Image.Resampling.BOX
"""The one resize filter: an area average, which keeps thin lines as grey rather than gaps."""

DEFAULT_MAX_PIXELS = 80_000_000
"""Larger pictures are decoded at reduced scale (JPEG) or refused (other formats)."""

MIN_SIDE = 8
"""Pictures smaller than this on either side are refused: nothing to learn from them."""

PAPER_PERCENTILE = 90.0
"""Brightness percentile taken as the paper's level (paper covers at least 10% of a drawing)."""

PAPER_MIN_LEVEL = 128.0
"""A paper level darker than this is not paper: the sketch is left as it is."""

WHITE = (255, 255, 255)

# What PIL raises on files that are not images or are damaged (it has no single base class).
_DECODE_ERRORS = (
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    IndexError,
    struct.error,
    Image.DecompressionBombError,
)

PictureLike = Image.Image | np.ndarray


# ---------------------------------------------------------------------------------------------
# Loading files
# ---------------------------------------------------------------------------------------------


def probe_image(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[int, int]:
    """Read only a file's header: the (width, height) load_image gives, before EXIF rotation.

    Raises DataError for what load_image refuses. Cheap (no pixel decoding), so a folder of
    thousands of files can be checked up front; damage further in is found by `load_image`.
    """
    path = Path(path)
    try:
        with _open_quietly(path) as im:
            _fit(path, im, max_pixels)
            return im.size
    except DataError:
        raise
    except _DECODE_ERRORS as exc:
        raise _unreadable(path, exc) from exc


def load_image(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Open a picture file as 8-bit RGB on white, upright, of at most `max_pixels` pixels.

    Transparency is composited on white; grey, palette, 16-bit and CMYK pictures are converted;
    the EXIF orientation is applied. A JPEG larger than `max_pixels` is decoded at a reduced
    scale (1/2 to 1/8, in the decoder: the full picture never reaches memory); any other picture
    that large is refused, as are pictures under MIN_SIDE pixels. Raises DataError naming the
    file for anything that cannot be read.
    """
    path = Path(path)
    try:
        with _open_quietly(path) as im:
            _fit(path, im, max_pixels)
            upright = ImageOps.exif_transpose(im)
            return to_rgb(upright)
    except DataError:
        raise
    except _DECODE_ERRORS as exc:
        raise _unreadable(path, exc) from exc


def _open_quietly(path: Path) -> Image.Image:
    # PIL warns above ~89 MP; we apply our own limit right after opening.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return Image.open(path)


def _fit(path: Path, im: Image.Image, max_pixels: int) -> None:
    """Let a too-large JPEG decode at 1/2..1/8 scale; refuse what is still too large or tiny."""
    if im.width * im.height > max_pixels and im.format == "JPEG":
        factor = 2 ** math.ceil(math.log2(math.sqrt(im.width * im.height / max_pixels)))
        im.draft(im.mode, (im.width // factor, im.height // factor))
    w, h = im.size
    if w * h > max_pixels:
        raise DataError(
            f"{path}: the picture is {w}×{h} ({w * h / 1e6:.0f} megapixels), more than the "
            f"{max_pixels / 1e6:.0f} megapixels Sketchpad will decode. Scale it down first."
        )
    if min(w, h) < MIN_SIDE:
        raise DataError(
            f"{path}: the picture is only {w}×{h} pixels; at least {MIN_SIDE}×{MIN_SIDE} is needed."
        )


def _unreadable(path: Path, exc: BaseException) -> DataError:
    if isinstance(exc, Image.DecompressionBombError):
        return DataError(f"{path}: the picture is too large to decode safely ({exc}).")
    if isinstance(exc, FileNotFoundError):
        return DataError(f"{path}: no such file.")
    if isinstance(exc, UnidentifiedImageError):
        return DataError(
            f"{path}: not a picture, or in a format Sketchpad cannot read. "
            "Remove it from the folder, or convert it to PNG or JPEG."
        )
    reason = str(exc) or type(exc).__name__
    return DataError(
        f"{path}: the picture is damaged ({reason}). "
        "Check that it opens in an image viewer, or remove it from the folder."
    )


# ---------------------------------------------------------------------------------------------
# Pixels to RGB
# ---------------------------------------------------------------------------------------------


def to_rgb(picture: PictureLike) -> Image.Image:
    """Any PIL picture or uint8/float array as 8-bit RGB, transparency composited on white."""
    img = picture if isinstance(picture, Image.Image) else _array_to_pil(picture)
    mode = img.mode
    if mode == "RGB":
        return img
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        return _high_depth_to_l(img).convert("RGB")
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (*WHITE, 255))
        return Image.alpha_composite(paper, rgba).convert("RGB")
    return img.convert("RGB")  # 1, L, P, CMYK, YCbCr, LAB, HSV


def _high_depth_to_l(img: Image.Image) -> Image.Image:
    values = np.asarray(img, dtype=np.float64)
    if img.mode == "F":
        top = 1.0 if values.size and values.max() <= 1.0 else 255.0
    elif img.mode == "I" and (values.size == 0 or values.max() <= 255):
        top = 255.0
    else:
        top = 65535.0
    scaled = np.clip(np.round(values * (255.0 / top)), 0, 255).astype(np.uint8)
    return Image.fromarray(scaled)


def _array_to_pil(array: np.ndarray) -> Image.Image:
    a = np.asarray(array)
    if a.dtype != np.uint8:
        if not np.issubdtype(a.dtype, np.floating):
            raise TypeError(f"expected a uint8 or float array, got {a.dtype}")
        a = np.clip(np.round(a * 255.0), 0, 255).astype(np.uint8)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 2:
        return Image.fromarray(np.ascontiguousarray(a))
    if a.ndim == 3 and a.shape[2] in (3, 4):
        return Image.fromarray(np.ascontiguousarray(a), "RGB" if a.shape[2] == 3 else "RGBA")
    raise ValueError(f"expected an (H, W), (H, W, 3) or (H, W, 4) array, got shape {a.shape}")


def pad_to_square(img: Image.Image) -> Image.Image:
    """Centre the picture on a white square as wide as its longer side."""
    w, h = img.size
    if w == h:
        return img
    side = max(w, h)
    fill: Any = 255 if img.mode == "L" else WHITE
    square = Image.new(img.mode, (side, side), fill)
    square.paste(img, ((side - w) // 2, (side - h) // 2))
    return square


def _square_resized(img: Image.Image, resolution: int) -> Image.Image:
    if resolution < 1:
        raise ValueError(f"resolution must be positive, got {resolution}")
    square = pad_to_square(img)
    if square.size == (resolution, resolution):
        return square
    return square.resize((resolution, resolution), RESIZE_FILTER)


# ---------------------------------------------------------------------------------------------
# Pictures to tensors
# ---------------------------------------------------------------------------------------------


def sketch_to_tensor(picture: PictureLike, resolution: int) -> torch.Tensor:
    """A drawing (dark lines on light paper) as the model's (1, R, R) ink tensor."""
    img = picture if isinstance(picture, Image.Image) else _array_to_pil(picture)
    gray = img if img.mode == "L" else to_rgb(img).convert("L")
    values = np.asarray(_square_resized(gray, resolution), dtype=np.float64)  # (R, R) 0..255
    paper = float(np.percentile(values, PAPER_PERCENTILE))
    if paper < PAPER_MIN_LEVEL:
        paper = 255.0
    ink = np.clip(1.0 - values / paper, 0.0, 1.0).astype(np.float32)
    return torch.from_numpy(ink)[None]  # (1, R, R)


def image_to_tensor(picture: PictureLike, resolution: int) -> torch.Tensor:
    """A colour picture (a training target) as a (3, R, R) tensor in [-1, 1]."""
    rgb = _square_resized(to_rgb(picture), resolution)
    values = np.asarray(rgb, dtype=np.float32)  # (R, R, 3)
    return torch.from_numpy(values / 127.5 - 1.0).permute(2, 0, 1).contiguous()


def photo_to_sketch(
    picture: PictureLike, resolution: int, params: LineParams | None = None
) -> torch.Tensor:
    """Extract line drawing from a photo (XDoG) and normalise it like any drawing: (1, R, R)."""
    from sketchpad.data.lines import LineParams, extract_lines

    params = params or LineParams()
    rgb = to_rgb(picture)
    # Extract before padding (the padding's border is no edge of the photo), at the scale that
    # padding and resizing will give, so the lines stay aligned with image_to_tensor's target.
    scale = resolution * params.work_scale / max(rgb.size)
    size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
    work = rgb if rgb.size == size else rgb.resize(size, RESIZE_FILTER)
    lines = extract_lines(np.asarray(work.convert("L")), params)  # (h, w) uint8, white paper
    return sketch_to_tensor(lines, resolution)


def distance_field(ink: torch.Tensor, radius: float = 4.0) -> torch.Tensor:
    """Encode an ink tensor as a soft distance field: 1 on ink, exp(-d / radius) around it.

    d is the chessboard distance in pixels (3×3 dilations), up to 3 × radius. Works on
    (1, H, W) and (B, 1, H, W) tensors; a model trained on this encoding needs it at inference.
    """
    x = ink if ink.dim() == 4 else ink[None]
    field = x
    grown = x
    for step in range(1, math.ceil(3 * radius) + 1):
        grown = F.max_pool2d(grown, 3, stride=1, padding=1)
        field = torch.maximum(field, grown * math.exp(-step / radius))
    return field if ink.dim() == 4 else field[0]


# ---------------------------------------------------------------------------------------------
# Tensors back to pictures
# ---------------------------------------------------------------------------------------------


def tensor_to_rgb(t: torch.Tensor) -> np.ndarray:
    """A (3, H, W) tensor in [-1, 1] (or a (1, 3, H, W) batch of one) as uint8 (H, W, 3)."""
    x = t.detach()
    if x.dim() == 4 and x.shape[0] == 1:
        x = x[0]
    if x.dim() != 3 or x.shape[0] != 3:
        raise ValueError(f"expected a (3, H, W) or (1, 3, H, W) tensor, got {tuple(t.shape)}")
    x = ((x.float().cpu().clamp(-1.0, 1.0) + 1.0) * 127.5).round().to(torch.uint8)
    return x.permute(1, 2, 0).contiguous().numpy()


def tensor_to_pil(t: torch.Tensor) -> Image.Image:
    return Image.fromarray(tensor_to_rgb(t), "RGB")


def sketch_tensor_to_rgb(t: torch.Tensor) -> np.ndarray:
    """An ink tensor ((H, W), (1, H, W) or (1, 1, H, W)) as a black-on-white uint8 (H, W, 3)."""
    x = t.detach().float().cpu()
    while x.dim() > 2 and x.shape[0] == 1:
        x = x[0]
    if x.dim() != 2:
        raise ValueError(f"expected a single-channel ink tensor, got {tuple(t.shape)}")
    gray = ((1.0 - x.clamp(0.0, 1.0)) * 255.0).round().to(torch.uint8).numpy()
    return np.repeat(gray[:, :, None], 3, axis=2)
