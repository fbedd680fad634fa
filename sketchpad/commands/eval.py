"""`sketchpad eval`: L1, PSNR and SSIM of a model on a data split, with the identity baseline."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "eval",
        help="measure a model on a data split",
        description="L1, PSNR and SSIM (mean and median) of a model's outputs "
        "against the targets of a split, beside the identity baseline (output = "
        "the line drawing). Images are compared in [0, 1].",
    )
    p.add_argument("--model", required=True, help="a .safetensors model file")
    p.add_argument("--data", default="openmoji", help="data source spec (default openmoji)")
    p.add_argument("--split", default="test", choices=("train", "val", "test", "all"))
    p.add_argument("--direction", default="AtoB", choices=("AtoB", "BtoA"))
    p.add_argument("--limit", type=int, help="evaluate the first N pairs of the split")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    p.add_argument(
        "--precision",
        default="fp32",
        choices=("auto", "fp32", "bf16", "fp16"),
        help="fp32 by default so numbers compare across machines",
    )
    p.add_argument("--grid", help="also write a PNG of (sketch | output | target) rows")
    p.add_argument("--grid-count", type=int, default=8)
    p.add_argument("--json", action="store_true", help="print JSON (with per-item scores)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from sketchpad.checkpoint import load_model
    from sketchpad.data import open_source
    from sketchpad.devices import choose_precision, resolve_device
    from sketchpad.errors import ConfigError
    from sketchpad.evaluate import evaluate, format_report, sample_grid

    if args.limit is not None and args.limit < 1:
        raise ConfigError("--limit must be at least 1")
    model = load_model(args.model, with_discriminator=False)
    device = resolve_device(args.device)
    precision = choose_precision(device, args.precision)
    generator = model.generator.to(device)
    dataset = open_source(
        args.data, resolution=model.resolution, split=args.split, direction=args.direction
    )
    report = evaluate(generator, dataset, precision, limit=args.limit)
    report.update(
        model=str(args.model), data=args.data, split=dataset.split, precision=precision.name
    )
    if args.grid:
        n = min(args.grid_count, len(dataset))
        sample_grid(generator, [dataset[i] for i in range(n)], precision).save(args.grid)
        report["grid"] = args.grid
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{args.model} on {args.data} ({dataset.split}, {precision.name})")
        print(format_report(report))
        if args.grid:
            print(f"grid: {args.grid}")
    return 0
