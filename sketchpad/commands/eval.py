"""`sketchpad eval`: L1, PSNR and SSIM of a model on a data split, with the identity baseline;
with colour hints, on the split drawn as people draw, and the variations' diversity."""

from __future__ import annotations

import argparse
import json

from sketchpad.errors import ConfigError

MAX_HINT_COUNT = 256
"""The most dabs `--hints` samples per item (as training's most)."""


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "eval",
        help="measure a model on a data split",
        description="L1, PSNR and SSIM (mean and median) of a model's outputs "
        "against the targets of a split, beside the identity baseline (output = "
        "the line drawing). Images are compared in [0, 1]. Gains are the model's median "
        "over the identity baseline's (PSNR and SSIM: model - identity; L1: identity - model).",
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
    p.add_argument(
        "--hints",
        metavar="N[,N...]",
        help="also measure with N colour hints per pair, dabbed from its target in its own "
        "colours (a model with hint inputs); a list like 0,4,16 gives a row per count, "
        "beside the row without hints",
    )
    p.add_argument(
        "--perturb",
        action="store_true",
        help="also measure the split drawn as people draw (smaller, off-centre, wobbly, "
        "thicker strokes): its gain over the identity baseline beside the clean split's, "
        "and their ratio",
    )
    p.add_argument(
        "--frame",
        action="store_true",
        help="fit each drawing to the model's frame first, as the app does (a small or "
        "off-centre drawing enlarged and centred, its strokes thinned back, the picture put "
        "back where it was drawn); every row but --diversity's and --full's",
    )
    p.add_argument(
        "--diversity",
        action="store_true",
        help="also measure how different the pictures from 4 noise seeds are: their mean "
        "pairwise difference on hinted and on unhinted pixels (per --hints count; a model "
        "with noise)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="picks the hint dabs, the perturbations and the noise (same seed, same numbers)",
    )
    p.add_argument(
        "--full",
        action="store_true",
        help="measure the full picture at the output resolution (a model with "
        "high-resolution levels) against the target rendered there and against the trunk's "
        "picture upscaled bicubically: PSNR, SSIM and edge sharpness",
    )
    p.add_argument(
        "--baseline", help="with --full: also another model's picture upscaled bicubically"
    )
    p.add_argument("--grid", help="also write a PNG of (sketch | output | target) rows")
    p.add_argument("--grid-count", type=int, default=8)
    p.add_argument("--json", action="store_true", help="print JSON (with per-item scores)")
    p.set_defaults(func=run)
    return p


def hint_counts(text: str | None) -> list[int]:
    """The hint counts of `--hints` ("4" or "0,4,16"), with 0 (no hints) first, ascending."""
    if text is None:
        return [0]
    counts = {0}
    for part in text.split(","):
        try:
            n = int(part.strip())
        except ValueError:
            raise ConfigError(
                f"--hints takes whole numbers separated by commas (like 0,4,16), got {text!r}"
            ) from None
        if not 0 <= n <= MAX_HINT_COUNT:
            raise ConfigError(f"--hints counts must be 0..{MAX_HINT_COUNT}, got {n}")
        counts.add(n)
    return sorted(counts)


def run(args: argparse.Namespace) -> int:
    from sketchpad.checkpoint import load_model
    from sketchpad.data import open_source
    from sketchpad.devices import choose_precision, resolve_device
    from sketchpad.eval_variants import (
        DIVERSITY_SEEDS,
        format_diversity,
        format_hint_rows,
        format_perturbed,
        gains,
        hint_row,
        measure_diversity,
        perturbed_summary,
    )
    from sketchpad.evaluate import evaluate, format_report, sample_grid

    if args.limit is not None and args.limit < 1:
        raise ConfigError("--limit must be at least 1")
    if not 0 <= args.seed < 2**63:
        raise ConfigError(f"--seed must be 0 or more (below 2^63), got {args.seed}")
    counts = hint_counts(args.hints)
    model = load_model(args.model, with_discriminator=False)
    if max(counts) > 0 and not model.takes_hints:
        raise ConfigError(
            f"{args.model} has no colour-hint inputs, so --hints would measure nothing new; "
            "evaluate a model trained with hints, or leave --hints out"
        )
    if args.diversity and not model.takes_noise:
        raise ConfigError(
            f"{args.model} takes no noise, so its pictures from {DIVERSITY_SEEDS} seeds are "
            "identical (diversity 0); --diversity measures a model trained with noise"
        )
    if args.frame and args.full:
        raise ConfigError("--frame measures the model's own resolution; leave it out of --full")
    if args.baseline and not args.full:
        raise ConfigError("--baseline goes with --full")
    if args.full:
        return _run_full(args, model)
    device = resolve_device(args.device)
    precision = choose_precision(device, args.precision)
    generator = model.generator.to(device)
    dataset = open_source(
        args.data, resolution=model.resolution, split=args.split, direction=args.direction
    )
    framed = {"frame": args.frame}
    report = evaluate(generator, dataset, precision, limit=args.limit, seed=args.seed, **framed)
    report.update(
        model=str(args.model),
        data=args.data,
        split=dataset.split,
        precision=precision.name,
        seed=args.seed,
        frame=args.frame,
        gain=gains(report),
    )
    if args.hints is not None:
        rows = [hint_row(0, report)]
        for n in counts[1:]:
            row = evaluate(
                generator, dataset, precision, limit=args.limit, hints=n, seed=args.seed, **framed
            )
            rows.append(hint_row(n, row))
        report["hints"] = rows
    if args.perturb:
        perturbed = evaluate(
            generator,
            dataset,
            precision,
            limit=args.limit,
            perturb=True,
            seed=args.seed,
            **framed,
        )
        report["perturbed"] = perturbed_summary(report, perturbed)
    if args.diversity:
        report["diversity"] = [
            measure_diversity(
                generator, dataset, precision, hints=n, limit=args.limit, seed=args.seed
            )
            for n in counts
        ]
    if args.grid:
        n = min(args.grid_count, len(dataset))
        sample_grid(generator, [dataset[i] for i in range(n)], precision).save(args.grid)
        report["grid"] = args.grid
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    fitted = ", drawings fitted to the frame" if args.frame else ""
    print(f"{args.model} on {args.data} ({dataset.split}, {precision.name}{fitted})")
    print(format_report(report))
    for key, show in (
        ("hints", format_hint_rows),
        ("perturbed", format_perturbed),
        ("diversity", format_diversity),
    ):
        if key in report:
            print()
            print(show(report[key]))
    if args.grid:
        print(f"grid: {args.grid}")
    return 0


def _run_full(args: argparse.Namespace, model) -> int:
    """`--full`: the full picture at the output resolution (fp32, CPU, as the reference)."""
    from sketchpad.checkpoint import load_model
    from sketchpad.data import open_source
    from sketchpad.evaluate_full import evaluate_full, format_full_report

    config = model.generator_config
    if config.output_resolution == config.resolution:
        raise ConfigError(
            f"{args.model} has no high-resolution levels, so its full picture is its "
            f"{config.resolution} px one; train some with `sketchpad train-highres`"
        )
    baseline = None
    if args.baseline:
        baseline = load_model(args.baseline, with_discriminator=False).generator
    dataset = open_source(
        args.data, resolution=config.output_resolution, split=args.split, direction=args.direction
    )
    n = min(args.limit or len(dataset), len(dataset))
    items = [dataset[i] for i in range(n)]
    report = evaluate_full(
        model.generator, items, config.resolution, baseline=baseline, seed=args.seed
    )
    report.update(
        model=str(args.model), data=args.data, split=dataset.split, baseline_model=args.baseline
    )
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"{args.model} on {args.data} ({dataset.split}, fp32)")
        print(format_full_report(report))
    return 0
