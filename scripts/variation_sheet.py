"""A sheet of a model's variations on held-out test pairs, to look at: per row, the sketch (with
its hint dabs painted over it when hinted), the target, then the pictures of four noise seeds.
The top block has no hints; the bottom block has `--hints N` dabs sampled from each target, as
`sketchpad eval --hints N` samples them (hinted pixels should keep their colour across seeds,
the rest may vary).

    python scripts/variation_sheet.py --model MODEL --out docs/variations.png [--count 6]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sketchpad.checkpoint import load_model  # noqa: E402
from sketchpad.data import open_source  # noqa: E402
from sketchpad.data.preview import sketch_with_hints  # noqa: E402
from sketchpad.devices import choose_precision  # noqa: E402
from sketchpad.evaluate import generate_batch, prepare_item  # noqa: E402
from sketchpad.sketch import tensor_to_rgb  # noqa: E402

GAP = 4
SEEDS = 4


def block(generator, dataset, indices, hints: int, precision, seed: int) -> list[np.ndarray]:
    rows = []
    for i in indices:
        sketch, target, hint = prepare_item(dataset[i], i, hints=hints, seed=seed)
        batch_hints = None if hint is None else hint[None]
        outs = [
            generate_batch(generator, sketch[None], precision, seed + k, batch_hints)[0]
            for k in range(SEEDS)
        ]
        cells = [sketch_with_hints(sketch, hint), tensor_to_rgb(target)]
        cells += [tensor_to_rgb(o) for o in outs]
        rows.append(cells)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--data", default="openmoji")
    parser.add_argument("--count", type=int, default=6, help="test pairs per block")
    parser.add_argument("--hints", type=int, default=4, help="dabs in the bottom block")
    parser.add_argument("--first", type=int, default=0, help="first test pair")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    loaded = load_model(args.model)
    precision = choose_precision(torch.device("cpu"), "fp32")
    generator = loaded.generator.eval()
    r = loaded.resolution
    dataset = open_source(args.data, resolution=r, split="test", warn=False)
    step = max(1, len(dataset) // args.count)
    indices = [(args.first + k * step) % len(dataset) for k in range(args.count)]
    rows = block(generator, dataset, indices, 0, precision, args.seed)
    if loaded.takes_hints and args.hints:
        rows += block(generator, dataset, indices, args.hints, precision, args.seed)
    columns = 2 + SEEDS
    sheet = Image.new(
        "RGB",
        (
            GAP + columns * (r + GAP) + GAP,
            GAP + len(rows) * (r + GAP) + GAP * (len(rows) > args.count),
        ),
        (128, 128, 128),
    )
    for y, cells in enumerate(rows):
        top = GAP + y * (r + GAP) + (GAP if y >= args.count else 0)
        for x, cell in enumerate(cells):
            left = GAP + x * (r + GAP) + (GAP if x >= 2 else 0)
            sheet.paste(Image.fromarray(cell), (left, top))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out)
    print(f"wrote {args.out}: {len(rows)} rows (sketch, target, {SEEDS} seeds)")
    return 0


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    raise SystemExit(main())
