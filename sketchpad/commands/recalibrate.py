"""`sketchpad recalibrate`: recompute a model's BatchNorm statistics over its training data
(`sketchpad.train.recalibrate`); the weights stay as they are."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "recalibrate",
        help="recompute a model's BatchNorm statistics over its training data",
        description="Average the generator's BatchNorm running statistics over many batches "
        "of the training split (an exported model holds those of its last few dozen batches "
        "only) and write the model again. The weights do not change.",
    )
    p.add_argument("--model", required=True, type=Path, help="the model file")
    p.add_argument("--out", required=True, type=Path, help="where to write the recalibrated one")
    p.add_argument("--data", default="openmoji", help="its training data (openmoji)")
    p.add_argument("--batches", type=int, default=100, help="batches to average over (100)")
    p.add_argument("--batch", type=int, default=8, help="pairs per batch (8)")
    p.add_argument(
        "--augment",
        action="store_true",
        help="augment the pairs as training does (default: as drawn)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--half", action="store_true", help="store the model in fp16 (half the file's size)"
    )
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from sketchpad.errors import ConfigError
    from sketchpad.train.recalibrate import recalibrate_file

    if args.out.resolve() == args.model.resolve():
        raise ConfigError("--out must be another file than --model (the original is kept)")
    report = recalibrate_file(
        args.model,
        args.out,
        data=args.data,
        count=args.batches,
        batch=args.batch,
        augment=args.augment,
        seed=args.seed,
        half=args.half,
    )
    print(
        f"recalibrated {report['layers']} BatchNorm layers over {report['batches']} batches of "
        f"{report['batch']}: {report['model']}"
    )
    return 0
