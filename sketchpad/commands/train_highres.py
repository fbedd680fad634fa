"""`sketchpad train-highres`: train the high-resolution levels above a model's trunk.

The trunk stays as it is (its 128 px picture and its numbers do not change); the levels learn
to paint the full picture from its features and the full-resolution sketch. Ctrl+C or SIGTERM
saves a checkpoint and writes the model; --resume continues.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from sketchpad.train.highres import HighResConfig

    d = HighResConfig()
    p = sub.add_parser(
        "train-highres",
        help="train high-resolution levels above a model (512 px pictures)",
        description="Train thin high-resolution levels above a trained model's trunk on "
        "random crops of full-resolution pairs (L1 and a light PatchGAN). The trunk is frozen.",
    )
    p.add_argument("--model", required=True, help="the trained model file (its trunk is kept)")
    p.add_argument("--data", default="openmoji", help="training data, as for `train` (openmoji)")
    p.add_argument("--out", required=True, help="run folder (checkpoints, model.safetensors)")
    p.add_argument(
        "--widths",
        default=",".join(map(str, d.widths)),
        help=f"channels of each ×2 level, comma-separated (default {d.widths})",
    )
    p.add_argument("--steps", type=int, default=d.steps, help=f"steps in all (default {d.steps})")
    p.add_argument("--batch", type=int, default=d.batch, help=f"crops per step ({d.batch})")
    p.add_argument("--crop", type=int, default=d.crop, help=f"crop side in output px ({d.crop})")
    p.add_argument("--lr", type=float, default=d.lr, help=f"learning rate ({d.lr})")
    p.add_argument("--l1-weight", type=float, default=d.l1_weight, help="L1 weight (100)")
    p.add_argument("--no-adversarial", action="store_true", help="L1 only, no PatchGAN")
    p.add_argument("--limit", type=int, default=0, help="at most this many pictures (0: all)")
    p.add_argument("--checkpoint-every", type=int, default=d.checkpoint_every)
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--json", action="store_true", help="one JSON event per line")
    p.set_defaults(func=run)
    return p


def _widths(text: str) -> tuple[int, ...]:
    from sketchpad.errors import ConfigError

    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError as exc:
        raise ConfigError(f"--widths must be numbers separated by commas, got {text!r}") from exc


def pairs_at(spec: str, takes_hints: bool):
    """The training split of `spec` at a resolution: [(ink, target)], [hints or None]."""

    def load(resolution: int):
        from sketchpad.data import open_source
        from sketchpad.data.augment import AugmentConfig

        hints = AugmentConfig().hint_config() if takes_hints else None
        dataset = open_source(spec, resolution=resolution, split="train", hints=hints, warn=False)
        pairs, snapshots = [], []
        for i in range(len(dataset)):
            item = dataset[i]
            pairs.append((item["sketch"], item["image"]))
            snapshots.append(item.get("hints"))
        return pairs, snapshots

    return load


def run(args: argparse.Namespace) -> int:
    from sketchpad.checkpoint import read_metadata
    from sketchpad.train.highres import HighResConfig, train_highres

    config = HighResConfig(
        widths=_widths(args.widths),
        steps=args.steps,
        batch=args.batch,
        crop=args.crop,
        lr=args.lr,
        l1_weight=args.l1_weight,
        adversarial=not args.no_adversarial,
        limit=args.limit,
        checkpoint_every=args.checkpoint_every,
    )
    meta = read_metadata(args.model)
    takes_hints = bool(meta.get("generator", {}).get("hint_channels", 0))
    stop = {"now": False}

    def on_signal(signum, frame):
        stop["now"] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def on_event(event: dict) -> None:
        if args.json:
            print(json.dumps(event), flush=True)
        elif event["event"] == "step":
            extra = " ".join(
                f"{k} {v}" for k, v in event.items() if k not in ("event", "step", "steps")
            )
            print(f"step {event['step']}/{event['steps']}  {extra}", flush=True)
        elif event["event"] == "log":
            print(event["message"], flush=True)
        elif event["event"] == "start":
            print(
                f"training on {event['pictures']} pictures from step {event['step']} "
                f"(trunk features in {event['cache_seconds']} s)",
                flush=True,
            )
        elif event["event"] == "done":
            print(f"wrote {event['model']} at step {event['step']}", file=sys.stderr, flush=True)

    train_highres(
        Path(args.model),
        Path(args.out),
        pairs_at(args.data, takes_hints),
        config,
        resume=args.resume,
        should_stop=lambda: stop["now"],
        on_event=on_event,
    )
    return 0
