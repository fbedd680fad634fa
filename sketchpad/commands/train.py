"""`sketchpad train`: the headless trainer (also what the Train tab runs as a child process).

Its stop handler is installed first (`early`, before the parser is built: that imports torch),
so a SIGTERM in the first seconds stops the trainer cleanly instead of killing it. Every
failure ends in exit code 2 and one line on stderr (with `--progress jsonl`: one `error`
event instead); an internal error's traceback is printed only with `--debug`.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

from sketchpad.errors import SketchpadError, failure_message


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from sketchpad.train.config import TrainConfig, add_config_flags, field_help

    choices = TrainConfig.CHOICES

    p = sub.add_parser(
        "train",
        help="train or fine-tune a model",
        description="Train (or fine-tune with --init) a model. SIGTERM or Ctrl+C finishes the "
        "current step, saves a checkpoint and exits 0; --resume continues the run.",
    )
    p.add_argument("--data", help=field_help(TrainConfig, "data"))
    p.add_argument("--out", required=True, help="run folder (config, checkpoints, samples, model)")
    p.add_argument("--init", help="model file to fine-tune (its networks and resolution are kept)")
    p.add_argument("--resolution", type=int, help=field_help(TrainConfig, "resolution"))
    p.add_argument("--steps", type=int, help=field_help(TrainConfig, "steps"))
    p.add_argument("--batch", type=int, help=field_help(TrainConfig, "batch"))
    p.add_argument(
        "--direction", choices=choices["direction"], help=field_help(TrainConfig, "direction")
    )
    p.add_argument("--config", help="JSON file with configuration fields (flags override it)")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out; flags (or --config) given again change what a run "
        "may change mid-run (steps, learning rates, loss weights, cadences, ...)",
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="start a run in a folder that holds files of another kind (no checkpoints)",
    )
    p.add_argument("--device", choices=choices["device"], help=field_help(TrainConfig, "device"))
    p.add_argument(
        "--progress",
        choices=("bar", "jsonl", "none"),
        default=None,
        help="jsonl: one JSON event per stdout line (default: a bar on a terminal)",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="print the configuration that would run (with --resume: the run's, changed) and exit",
    )
    add_config_flags(p)
    p.set_defaults(func=run)
    return p


class _StopFlag:
    """Set by SIGTERM or SIGINT (Ctrl+C): the trainer finishes its step, saves and exits 0."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._previous: dict[int, Any] | None = None

    def __call__(self) -> bool:
        return self.event.is_set()

    def install(self) -> Callable[[], None]:
        """Install the handlers (once, from the main thread); returns what puts the previous
        ones back (a no-op when they were installed already)."""
        if self._previous is not None or threading.current_thread() is not threading.main_thread():
            return lambda: None

        def handler(signum: int, frame: Any) -> None:
            self.event.set()

        self._previous = {
            sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)
        }

        def restore() -> None:
            for sig, previous in (self._previous or {}).items():
                signal.signal(sig, previous)
            self._previous = None
            self.event.clear()

        return restore


STOP = _StopFlag()


def early(argv: list[str]) -> Callable[[], None]:
    """`sketchpad.cli` calls this before it builds the parsers."""
    return STOP.install()


def failed(argv: list[str], message: str) -> None:
    """A failure `run` did not get to report (a command line that does not parse): its
    `error` event in jsonl mode."""
    jsonl = "--progress=jsonl" in argv or any(
        a == "--progress" and b == "jsonl" for a, b in zip(argv, argv[1:], strict=False)
    )
    if jsonl and _main_rank():
        _write_event({"event": "error", "message": message, "step": None})


def _main_rank() -> bool:
    return os.environ.get("RANK", "0") == "0"  # torchrun's; only rank 0 reports


def _write_event(event: dict) -> None:
    sys.stdout.write(json.dumps({**event, "time": round(time.time(), 3)}) + "\n")
    sys.stdout.flush()


def _printer(mode: str):
    """The on_event callback for the chosen progress mode."""
    if mode == "jsonl":
        return _write_event, lambda: None

    bar = None

    def emit(event: dict) -> None:
        nonlocal bar
        kind = event["event"]
        if kind == "phase" and mode != "none":
            print(f"{event['phase']}…", file=sys.stderr)
        elif kind == "start":
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
    restore = STOP.install()
    mode = args.progress or ("bar" if sys.stderr.isatty() else "none")
    emit, close = _printer(mode)
    errors: list[dict] = []

    def on_event(event: dict) -> None:
        if event["event"] == "error":
            errors.append(event)
        emit(event)

    try:
        code = _train(args, on_event)
    except Exception as exc:
        code = 2
        message = failure_message(exc)
        if mode == "jsonl" and not errors and _main_rank():
            emit({"event": "error", "message": message, "step": None})
        if getattr(args, "debug", False) and not isinstance(exc, SketchpadError):
            traceback.print_exc()
        elif mode != "jsonl":  # in jsonl mode the error event says it
            print(f"sketchpad train: error: {message}", file=sys.stderr)
    finally:
        close()
        restore()
    if int(os.environ.get("WORLD_SIZE") or 1) > 1:
        # A torchrun worker ends here without tearing down (see run_training).
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _train(args: argparse.Namespace, on_event: Callable[[dict], None]) -> int:
    from sketchpad.train.config import build_config, load_config_file, overrides_from_args
    from sketchpad.train.plan import plan_run
    from sketchpad.train.resume import Changes
    from sketchpad.train.run import run_training

    file_values = load_config_file(args.config) if args.config else None
    flags = overrides_from_args(args)
    if args.resume:  # the run's own configuration, with the fields given here changed
        config, changes = None, Changes.given(flags, file_values, args.config or "")
    else:
        config, changes = build_config(file_values, flags), None
    options = {
        "init": args.init,
        "resume": args.resume,
        "changes": changes,
        "overwrite": args.overwrite,
    }
    if args.dry_run:
        plan = plan_run(config, args.out, **options)
        for level, message in plan.notes:
            print(f"{level}: {message}", file=sys.stderr)
        print(json.dumps(plan.config.to_dict(), indent=2))
        return 0
    run_training(config, args.out, **options, should_stop=STOP, on_event=on_event)
    return 0
