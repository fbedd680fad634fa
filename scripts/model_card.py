"""Measure a model for its model card: evaluation on the OpenMoji test split (with the identity
baseline), a sample grid, outputs for deliberately rough sketches, and the generator's speed
through the app's inference path beside pix2pix's unet_128, all in one run.

    python scripts/model_card.py --model assets/default/model.safetensors \\
        --compare runs/unet_patchgan/model.safetensors --out assets/default
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from models import GeneratorConfig, UNetGenerator  # noqa: E402
from sketchpad.bench import generator_latency  # noqa: E402
from sketchpad.checkpoint import load_model  # noqa: E402
from sketchpad.data import open_source  # noqa: E402
from sketchpad.data.augment import _affine, change_thickness  # noqa: E402
from sketchpad.devices import app_threads, choose_precision  # noqa: E402
from sketchpad.evaluate import (  # noqa: E402
    evaluate,
    generate_batch,
    generate_framed,
    prepare_item,
    sample_grid,
)
from sketchpad.sketch import sketch_tensor_to_rgb, tensor_to_rgb  # noqa: E402


def rough_versions(ink: torch.Tensor, seed: int) -> dict[str, torch.Tensor]:
    """Mouse-like versions of a (1, R, R) sketch: thicker, thinner, wobbly, with gaps."""
    g = torch.Generator().manual_seed(seed)
    r = ink.shape[-1]
    wobble = _affine(ink, torch.zeros(3, r, r), math.radians(3), 1.04, (0.03, -0.02))[0]
    cells = torch.rand(1, 1, 8, 8, generator=g)
    mask = torch.nn.functional.interpolate(cells, size=(r, r), mode="nearest")[0] > 0.15
    return {
        "clean": ink,
        "thicker": change_thickness(ink, 1.5),
        "thinner": change_thickness(ink, -0.5),
        "wobbly": wobble,
        "gaps": ink * mask,
    }


def rough_grid(generator, items, precision) -> Image.Image:
    rows = []
    for i, it in enumerate(items):
        cells = []
        for sketch in rough_versions(it["sketch"][:1], i).values():
            out = generate_batch(generator, sketch[None], precision)[0]
            cells += [sketch_tensor_to_rgb(sketch), tensor_to_rgb(out)]
        rows.append(np.concatenate(cells, axis=1))
    return Image.fromarray(np.concatenate(rows, axis=0))


def framing_grid(generator, items, precision) -> Image.Image:
    """Rows of (sketch | painted as drawn | fitted to the frame, as the app does | target)."""
    sketch = torch.stack([it["sketch"] for it in items])
    drawn = generate_batch(generator, sketch, precision)
    fitted = generate_framed(generator, sketch, precision)
    rows = [
        np.concatenate(
            [
                sketch_tensor_to_rgb(it["sketch"][:1]),
                tensor_to_rgb(a),
                tensor_to_rgb(b),
                tensor_to_rgb(it["image"]),
            ],
            axis=1,
        )
        for it, a, b in zip(items, drawn, fitted, strict=True)
    ]
    return Image.fromarray(np.concatenate(rows, axis=0))


def prepared(items, hints: int = 0, perturb: bool = False) -> list[dict]:
    """The items as `sketchpad eval --perturb / --hints N` sees them (same pairs, same dabs)."""
    out = []
    for it in items:
        sketch, image, hint = prepare_item(it, it["index"], hints=hints, perturb=perturb)
        out.append({"sketch": sketch, "image": image} | ({} if hint is None else {"hints": hint}))
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--compare", nargs="*", default=[], help="other model files (ablation rows)")
    p.add_argument("--data", default="openmoji")
    p.add_argument("--split", default="test")
    p.add_argument("--limit", type=int)
    p.add_argument("--out", required=True, help="folder for card.json and the PNGs")
    p.add_argument("--repeat", type=int, default=40)
    p.add_argument("--no-speed", action="store_true", help="skip the latency measurement")
    args = p.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    precision = choose_precision(torch.device("cpu"), "fp32")
    card: dict = {"split": args.split, "data": args.data, "models": {}}
    test = None
    for path in [args.model, *args.compare]:
        model = load_model(path, with_discriminator=False)
        test = open_source(args.data, resolution=model.resolution, split=args.split)
        report = evaluate(model.generator, test, precision, limit=args.limit)
        report.pop("per_item")
        report["step"] = model.metadata.get("step")
        card["models"][str(path)] = report
        print(path, json.dumps(report["metrics"]), file=sys.stderr)
    model = load_model(args.model, with_discriminator=False)
    test = open_source(args.data, resolution=model.resolution, split=args.split)
    indices = list(range(0, len(test), max(1, len(test) // 12)))[:12]
    picks = [test[i] | {"index": i} for i in indices]
    sample_grid(model.generator, picks, precision).save(out / "test_samples.png")
    rough_grid(model.generator, picks[:6], precision).save(out / "rough_sketches.png")
    # drawn small, off-centre, wobbly and thick (`eval --perturb`), and with 4 hint dabs
    sample_grid(model.generator, prepared(picks, perturb=True), precision).save(
        out / "small_offcentre.png"
    )
    framing_grid(model.generator, prepared(picks, perturb=True), precision).save(
        out / "small_offcentre_fitted.png"
    )
    if model.takes_hints:
        sample_grid(model.generator, prepared(picks, hints=4), precision).save(
            out / "hinted_samples.png"
        )

    if args.no_speed:
        (out / "card.json").write_text(json.dumps(card, indent=2) + "\n")
        return 0
    # speed through the app's inference path (fast path on, the app's thread count), beside
    # unet_128, same run
    torch.set_num_threads(app_threads())
    r = model.resolution
    unet = UNetGenerator(GeneratorConfig.pix2pix_unet(r)).eval()
    card["speed"] = {
        "default": generator_latency(
            model.generator, model.generator_config, r, "cpu", args.repeat
        ),
        "unet": generator_latency(unet, unet.config, r, "cpu", args.repeat),
        "threads": torch.get_num_threads(),
    }
    (out / "card.json").write_text(json.dumps(card, indent=2) + "\n")
    print(json.dumps(card["speed"], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
