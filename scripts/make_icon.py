"""Draw the app icon: a thin pencil line that turns into a broad stroke of colour.

    python scripts/make_icon.py            # writes assets/icons/sketchpad.png (256 px)

Drawn at 4x and scaled down, so the edges are smooth. Windows (.ico) and macOS (.icns) icons
are converted from this PNG by PyInstaller at build time.
"""

from __future__ import annotations

import argparse
import colorsys
import math
from pathlib import Path

from PIL import Image, ImageDraw

SIZE = 256
SCALE = 4
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "assets" / "icons" / "sketchpad.png"


def _curve(t: float) -> tuple[float, float]:
    """A gentle S from the lower left to the upper right, in units of the icon's side."""
    x = 0.16 + 0.68 * t
    y = 0.80 - 0.60 * t + 0.10 * math.sin(2.0 * math.pi * t)
    return x, y


def _stroke_style(t: float) -> tuple[float, tuple[int, int, int]]:
    """(radius in icon units, colour) along the stroke: pencil grey, then a run of hues."""
    turn = 0.38  # where the line starts to become paint
    if t < turn:
        return 0.012, (40, 40, 48)
    u = min(1.0, (t - turn) / (1.0 - turn))
    radius = 0.012 + 0.075 * math.sin(0.5 * math.pi * min(1.0, u * 1.6))
    r, g, b = colorsys.hsv_to_rgb(0.58 - 0.62 * u, 0.50 + 0.30 * min(1.0, u * 2.0), 0.96)
    grey = max(0.0, 1.0 - u * 4.0)  # blend out of the pencil colour
    mix = [grey * 40 / 255 + (1 - grey) * c for c in (r, g, b)]
    return radius, (round(mix[0] * 255), round(mix[1] * 255), round(mix[2] * 255))


def draw_icon(size: int = SIZE) -> Image.Image:
    big = size * SCALE
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    margin = big * 0.04
    draw.rounded_rectangle(
        (margin, margin, big - margin, big - margin),
        radius=big * 0.18,
        fill=(250, 248, 242, 255),
        outline=(205, 200, 190, 255),
        width=max(1, big // 96),
    )
    steps = 600
    for i in range(steps + 1):
        t = i / steps
        x, y = _curve(t)
        radius, colour = _stroke_style(t)
        r = radius * big
        draw.ellipse((x * big - r, y * big - r, x * big + r, y * big + r), fill=(*colour, 255))
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--size", type=int, default=SIZE)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    draw_icon(args.size).save(args.out, optimize=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
