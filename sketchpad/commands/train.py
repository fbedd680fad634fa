"""`sketchpad train`: the headless trainer (also what the Train tab runs as a child process)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from typing import Any


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from sketchpad.train.config import TrainConfig, add_config_flags

    choices = TrainConfig.CHOICES

    p = sub.add_parser(
        "train",
        help="train or fine-tune a model",
        description="Train (or fine-tune with --init) a model. SIGTERM or Ctrl+C finishes the "
        "current step, saves a checkpoint and exits 0; --resume continues the run.",
    )
    p.add_argument(
        "--data",
        help="data source: openmoji, aligned:PATH, paired:PATH, photos:PATH "
        "or PATH (detected); default openmoji",
    )
    p.add_argument("--out", required=True, help="run folder (config, checkpoints, samples, model)")
    p.add_argument("--init", help="model file to fine-tune (its networks and resolution are kept)")
    p.add_argument("--resolution", type=int)
    p.add_argument("--steps", type=int)
    p.add_argument("--batch", type=int, help="batch size per process")
    p.add_argument(
        "--direction", choices=choices["direction"], help="aligned data: which half is the sketch"
    )
    p.add_argument("--config", help="JSON file with configuration fields (flags override it)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out")
    p.add_argument("--device", choices=choices["device"])
    p.add_argument(
        "--progress",
        choices=("bar", "jsonl", "none"),
        default=None,
        help="jsonl: one JSON event per stdout line (default: a bar on a terminal)",
    )
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    add_config_flags(p)
    p.set_defaults(func=run)
    return p


class _StopFlag:
    def __init__(self) -> None:
        self.event = threading.Event()

    def __call__(self) -> bool:
        return self.event.is_set()

    def install(self) -> None:
        def handler(signum: int, frame: Any) -> None:
            self.event.set()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)


def _printer(mode: str):
    """The on_event callback for the chosen progress mode."""
    if mode == "jsonl":
        import time

        def emit(event: dict) -> None:
            sys.stdout.write(json.dumps({**event, "time": round(time.time(), 3)}) + "\n")
            sys.stdout.flush()

        return emit, lambda: None

    bar = None

    def emit(event: dict) -> None:
        nonlocal bar
        kind = event["event"]
        if kind == "start":
            print(
                f"training on {event['device']}, batch {event['batch_total']} "
                f"({event['batch_per_process']} per process × {event['world_size']}), "
                f"run folder {event['run_dir']}",
                file=sys.stderr,
            )
            print(event["data"], file=sys.stderr)
            if mode == "bar":
                from tqdm import tqdm

                bar = tqdm(
                    total=event["total_steps"],
                    initial=event["start_step"],
                    unit="step",
                    dynamic_ncols=True,
                )
        elif kind == "step":
            losses = " ".join(f"{k}={v:.3f}" for k, v in event["losses"].items())
            if bar is not None:
                bar.n = event["step"]
                bar.set_postfix_str(f"{losses} {event['images_per_s']:.1f} img/s", refresh=True)
            elif mode != "none":
                print(
                    f"step {event['step']}/{event['total_steps']} {losses} "
                    f"{event['images_per_s']:.1f} img/s eta {event['eta_s']:.0f}s",
                    file=sys.stderr,
                )
        elif kind == "eval":
            m = event["metrics"]
            print(
                f"eval ({event['split']}, {event['count']}): PSNR {m['psnr']['median']:.2f} "
                f"SSIM {m['ssim']['median']:.3f} L1 {m['l1']['median']:.4f} (medians)",
                file=sys.stderr,
            )
        elif kind == "log":
            print(f"{event['level']}: {event['message']}", file=sys.stderr)
        elif kind == "done":
            if bar is not None:
                bar.close()
            print(
                f"{'stopped' if event['stopped'] else 'done'} at step {event['step']}: "
                f"{event['model']}",
                file=sys.stderr,
            )

    def close() -> None:
        if bar is not None:
            bar.close()

    return emit, close


def run(args: argparse.Namespace) -> int:
    from sketchpad.errors import SketchpadError
    from sketchpad.train import distributed
    from sketchpad.train.config import build_config, load_config_file, overrides_from_args
    from sketchpad.train.run import run_training

    mode = args.progress or ("bar" if sys.stderr.isatty() else "none")
    emit, close = _printer(mode)
    try:
        file_values = load_config_file(args.config) if args.config else None
        config = build_config(file_values, overrides_from_args(args))
    except SketchpadError as exc:
        if mode == "jsonl":
            emit({"event": "error", "message": str(exc), "step": None})
        raise
    if args.dry_run:
        if args.init and not args.resume:  # fine-tuning keeps the model file's networks
            from sketchpad.checkpoint import load_model
            from sketchpad.train.run import config_for_init

            config = config_for_init(config, load_model(args.init))
        print(json.dumps(config.to_dict(), indent=2))
        return 0
    stop = _StopFlag()
    stop.install()
    try:
        run_training(
            config,
            args.out,
            init=args.init,
            resume=args.resume,
            resume_steps=args.steps,
            should_stop=stop,
            on_event=emit,
        )
        code = 0
    except SketchpadError as exc:
        if mode != "jsonl":  # in jsonl mode the error event is already on stdout
            print(f"sketchpad train: error: {exc}", file=sys.stderr)
        code = 2
    finally:
        close()
    if distributed.from_environment().enabled:
        # A torchrun worker ends here without tearing down (see run_training).
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
