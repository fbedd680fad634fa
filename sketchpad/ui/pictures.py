"""Pictures in and out of the app: files to canvas images through the shared normalisation,
arrays to QImages, where a square picture is shown in a widget, the side-by-side export, and
atomic PNG writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QImageReader, QPainter

from sketchpad.checkpoint import atomic_write_bytes
from sketchpad.errors import DataError
from sketchpad.ora import seed_from_text
from sketchpad.sketch import (
    load_image,
    photo_to_sketch,
    sketch_tensor_to_rgb,
    sketch_to_tensor,
)


def qimage_to_array(qimage: QImage) -> np.ndarray:
    """A QImage's pixels as a (H, W, 4) uint8 RGBA array (not premultiplied)."""
    rgba = qimage.convertToFormat(QImage.Format.Format_RGBA8888)
    w, h, stride = rgba.width(), rgba.height(), rgba.bytesPerLine()
    buffer = np.frombuffer(rgba.constBits(), dtype=np.uint8, count=h * stride)
    return buffer.reshape(h, stride)[:, : w * 4].reshape(h, w, 4).copy()


def qimage_to_tensor(qimage: QImage, resolution: int) -> torch.Tensor:
    """The GUI path: a canvas QImage as the (1, R, R) ink tensor, identical to sketch_to_tensor."""
    return sketch_to_tensor(qimage_to_array(qimage), resolution)


def fitted_square(width: float, height: float, margin: float = 8.0) -> QRectF:
    """Where a square picture is shown in a width × height widget: as large as fits inside
    `margin`, centred."""
    side = max(1.0, min(width, height) - margin)
    return QRectF((width - side) / 2, (height - side) / 2, side, side)


PAPER_SHARE_OF_DRAWINGS = 0.5
"""A picture with less than this share of its pixels near its paper level is taken for a photo."""


def rgba_to_qimage(rgba: np.ndarray) -> QImage:
    """A uint8 (H, W, 4) RGBA array (not premultiplied) as an ARGB32 QImage of its own."""
    a = np.ascontiguousarray(rgba, dtype=np.uint8)
    h, w, _ = a.shape
    image = QImage(a.data, w, h, 4 * w, QImage.Format.Format_RGBA8888)
    return image.convertToFormat(QImage.Format.Format_ARGB32)  # a copy


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """A uint8 (H, W, 3) array as a QImage that owns its pixels."""
    a = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w, _ = a.shape
    return QImage(a.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


def looks_like_photo(picture: Image.Image) -> bool:
    """Drawings are mostly paper: a picture with few pixels near its brightest level (or with
    no light level at all) is a photo, whose lines must be extracted first."""
    small = picture.convert("L")
    small.thumbnail((96, 96))
    gray = np.asarray(small, dtype=np.float32)
    paper = float(np.percentile(gray, 90))
    if paper < 128:
        return True
    return float(np.mean(gray >= paper - 24)) < PAPER_SHARE_OF_DRAWINGS


def load_sketch_picture(path: str | Path, side: int) -> tuple[QImage, bool]:
    """A picture file as a (side × side) black-on-white canvas image, and whether it was taken
    for a photo (its lines extracted). Raises DataError for unreadable files."""
    return sketch_picture(load_image(path), side)


def sketch_picture(picture: Image.Image, side: int) -> tuple[QImage, bool]:
    """An RGB picture as a (side × side) black-on-white canvas image, and whether it was taken
    for a photo (its lines extracted)."""
    photo = looks_like_photo(picture)
    ink = photo_to_sketch(picture, side) if photo else sketch_to_tensor(picture, side)
    return rgb_to_qimage(sketch_tensor_to_rgb(ink)), photo


SEED_KEY = "Sketchpad-Seed"
"""The PNG text entry that keeps a sketch's picture seed (the variation the user kept)."""


def with_seed(image: QImage, seed: int | None) -> QImage:
    """`image` carrying `seed` in its text (a PNG keeps it as a text chunk)."""
    out = QImage(image)
    out.setText(SEED_KEY, "" if seed is None else str(seed))
    return out


def image_seed(image: QImage) -> int | None:
    """The seed an image read from a PNG carries (None: none, or not a seed)."""
    return seed_from_text(image.text(SEED_KEY) or None)


def png_seed(path: str | Path) -> int | None:
    """The seed kept in a PNG file's text (None: none; the pixels are not decoded)."""
    reader = QImageReader(str(path))
    return seed_from_text(reader.text(SEED_KEY) or None) if reader.canRead() else None


def png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise DataError("the picture could not be encoded as PNG")
    buffer.close()
    return bytes(data.data())


def save_png(image: QImage, path: str | Path) -> Path:
    """Write `image` as PNG atomically (a crash leaves the old file or the new one). Raises
    DataError with the reason when the folder cannot be written."""
    path = Path(path)
    try:
        atomic_write_bytes(path, png_bytes(image))
    except OSError as exc:
        raise DataError(f"{path}: cannot write the file ({exc.strerror or exc})") from exc
    return path


def side_by_side(sketch: QImage, result: QImage, resolution: int, side: int = 256) -> QImage:
    """The sketch as the model saw it (through the shared normalisation) beside the result,
    both `max(side, resolution)` pixels square, with a white gutter."""
    side = max(side, resolution)
    seen = rgb_to_qimage(sketch_tensor_to_rgb(qimage_to_tensor(sketch, resolution)))
    gutter = max(4, side // 32)
    out = QImage(2 * side + 3 * gutter, side + 2 * gutter, QImage.Format.Format_RGB32)
    out.fill(QColor(255, 255, 255))
    painter = QPainter(out)
    for i, picture in enumerate((seen, result)):
        scaled = picture.scaled(
            side,
            side,
            Qt.AspectRatioMode.IgnoreAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        painter.drawImage(gutter + i * (side + gutter), gutter, scaled)
    painter.end()
    return out
