"""`sketchpad generate`: pictures from sketch files, through the same path as the app."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "generate",
        help="generate pictures from sketch files",
        description="Generate a picture for each sketch (files, or folders of "
        "them). Unreadable files are reported and skipped.",
    )
    p.add_argument("inputs", nargs="+", help="sketch files or folders")
    p.add_argument("--model", help="model file (default: the built-in model)")
    p.add_argument("--out", required=True, help="output folder (NAME.png per input)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    p.add_argument("--precision", default="auto", choices=("auto", "fp32"))
    p.add_argument(
        "--photo",
        action="store_true",
        help="the inputs are photos: extract their lines first (as for photos:PATH)",
    )
    p.add_argument("--seed", type=int, default=0, help="noise seed for models with noise")
    p.add_argument("--server", help="generate on a `sketchpad serve` at this ws:// URL")
    p.add_argument("--token", help="the server's token (or --token-file)")
    p.add_argument("--token-file", help="file holding the server's token")
    p.set_defaults(func=run)
    return p


def _inputs(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for text in paths:
        p = Path(text)
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES))
        else:
            out.append(p)
    return out


def _tell_fallback(reason: str | None, told: str | None) -> str | None:
    """Say on stderr (once) that the device asked for is not the one running the model."""
    if reason and reason != told:
        print(f"sketchpad generate: {reason}", file=sys.stderr)
    return reason or told


def run(args: argparse.Namespace) -> int:
    from PIL import Image

    from sketchpad.checkpoint import load_model
    from sketchpad.engine import Engine, Request
    from sketchpad.errors import DataError, ModelFileError
    from sketchpad.paths import default_model_path
    from sketchpad.sketch import load_image, photo_to_sketch, sketch_to_tensor

    if args.server:
        engine = _remote_engine(args)
    else:
        model_path = Path(args.model) if args.model else default_model_path()
        if not args.model and not model_path.is_file():
            raise ModelFileError(f"the built-in model is missing ({model_path}); pass --model")
        engine = Engine(
            load_model(model_path, with_discriminator=False), args.device, args.precision
        )
    told = _tell_fallback(engine.fallback_reason, None)
    files = _inputs(args.inputs)
    if not files:
        raise DataError("no sketch files found in the given inputs")
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    res = engine.resolution
    failed: list[tuple[Path, str]] = []
    done = 0
    used: set[str] = set()
    for i, path in enumerate(files):
        try:
            picture = load_image(path)
        except (DataError, OSError) as exc:
            failed.append((path, str(exc)))
            continue
        sketch = photo_to_sketch(picture, res) if args.photo else sketch_to_tensor(picture, res)
        result = engine.run(Request(i, sketch, seed=args.seed))
        told = _tell_fallback(engine.fallback_reason, told)
        name = path.stem
        while name in used:  # two inputs with one stem: keep both
            name += "_"
        used.add(name)
        Image.fromarray(result.image).save(out_dir / f"{name}.png")
        done += 1
    for path, reason in failed:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    print(f"generated {done} of {len(files)} into {out_dir} ({engine.describe()})")
    return 0 if done else 1


def _remote_engine(args: argparse.Namespace):
    from sketchpad.errors import UsageError
    from sketchpad.remote.client import RemoteEngine
    from sketchpad.remote.token import token_from_options

    if args.model:
        raise UsageError("--model and --server exclude each other (the server has its model)")
    return RemoteEngine(args.server, token_from_options(args.token, args.token_file))
