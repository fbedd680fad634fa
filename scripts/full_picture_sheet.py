"""A side-by-side sheet of the full picture: for a few held-out OpenMoji emoji, the whole
picture at 512 px (the model's full picture), then one detail crop, enlarged 2× with no
smoothing, of: the 128 px picture upscaled bicubically, the full picture, and the target.

    python scripts/full_picture_sheet.py --model M --out docs/full_picture.png [--count 4]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

from sketchpad.checkpoint import load_model
from sketchpad.data import open_source
from sketchpad.evaluate_full import bicubic, line_pixels

CROP = 160
ZOOM = 2
LABELS = ("full picture (512 px)", "128 px, bicubic x4", "full picture", "target (512 px)")


def to_image(t: torch.Tensor) -> Image.Image:
    rgb = ((t.float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
    return Image.fromarray(rgb)


def detail_box(ink: torch.Tensor) -> tuple[int, int, int, int]:
    """The CROP×CROP window holding the most line edges."""
    edges = line_pixels(ink[None]).float()
    density = F.avg_pool2d(edges, CROP, stride=16)[0, 0]
    y, x = divmod(int(density.argmax()), density.shape[1])
    return x * 16, y * 16, x * 16 + CROP, y * 16 + CROP


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--count", type=int, default=4)
    parser.add_argument("--first", type=int, default=0, help="skip this many test pairs")
    args = parser.parse_args()
    model = load_model(args.model, with_discriminator=False)
    g, config = model.generator, model.generator_config
    side = config.output_resolution
    dataset = open_source("openmoji", resolution=side, split="test", warn=False)
    step = max(1, len(dataset) // max(1, args.count))
    picks = [(args.first + k * step) % len(dataset) for k in range(args.count)]
    cell = CROP * ZOOM
    header = 28
    sheet = Image.new("RGB", (cell * 4, header + cell * len(picks)), "white")
    draw = ImageDraw.Draw(sheet)
    for k, label in enumerate(LABELS):
        draw.text((k * cell + 8, 8), label, fill=(0, 0, 0))
    with torch.inference_mode():
        for row, index in enumerate(picks):
            item = dataset[index]
            ink, target = item["sketch"][None], item["image"]
            small = F.adaptive_avg_pool2d(ink, (config.resolution, config.resolution))
            trunk = g.trunk(small)
            full = g.full(trunk, ink)[0]
            enlarged = bicubic(trunk.image, side)[0]
            box = detail_box(item["sketch"])
            y = header + row * cell
            whole = to_image(full).resize((cell, cell), Image.Resampling.LANCZOS)
            sheet.paste(whole, (0, y))
            s = cell / side
            draw.rectangle([box[0] * s, y + box[1] * s, box[2] * s, y + box[3] * s], outline="red")
            for col, picture in enumerate((enlarged, full, target), start=1):
                crop = to_image(picture).crop(box).resize((cell, cell), Image.Resampling.NEAREST)
                sheet.paste(crop, (col * cell, y))
            draw.text((8, y + cell - 16), item["name"], fill=(90, 90, 90))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, optimize=True)
    print(f"wrote {args.out} ({', '.join(dataset[i]['name'] for i in picks)})")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
