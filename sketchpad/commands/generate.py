"""`sketchpad generate`: pictures from sketch files, through the same path as the app."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
SKETCH_SUFFIXES = IMAGE_SUFFIXES | {".ora"}
MAX_VARIATIONS = 64


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "generate",
        help="generate pictures from sketch files",
        description="Generate a picture for each sketch (files, or folders of them): "
        "pictures of dark lines on light paper, or OpenRaster .ora files (Sketchpad's own "
        "format), whose 'Ink' layer is the drawing and whose colour-hint layer, if any, "
        "says which colours go where. Unreadable files are reported and skipped.",
    )
    p.add_argument("inputs", nargs="+", help="sketch files (pictures or .ora) or folders")
    p.add_argument("--model", help="model file (default: the built-in model)")
    p.add_argument(
        "--out",
        required=True,
        help="output folder (NAME.png per input; NAME-1.png, NAME-2.png, ... with "
        "--variations), or for one sketch a .png file (OUT-1.png, ... with --variations)",
    )
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    p.add_argument("--precision", default="auto", choices=("auto", "fp32"))
    p.add_argument(
        "--photo",
        action="store_true",
        help="the inputs are photos: extract their lines first (as for photos:PATH)",
    )
    p.add_argument(
        "--hints",
        metavar="PNG",
        help="colour hints for every sketch: a picture with transparency, its colours where "
        "it is opaque and no hint where it is transparent, framed like the sketch (any size: "
        "it is resized to the model's). Takes the place of an .ora file's own hint layer. A "
        "model without hint inputs ignores them (and says so)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=0,
        help="noise seed for models with noise: the same seed gives the same picture (0)",
    )
    p.add_argument(
        "--variations",
        type=int,
        default=1,
        metavar="K",
        help="K pictures per sketch from the seeds SEED, SEED+1, ... (a model with noise; "
        f"at most {MAX_VARIATIONS})",
    )
    p.add_argument(
        "--as-drawn",
        action="store_true",
        help="paint a small drawing at its size; by default, as in the app, a small or "
        "off-centre drawing is painted enlarged and centred, then put back where it was drawn",
    )
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
            out.extend(sorted(f for f in p.rglob("*") if f.suffix.lower() in SKETCH_SUFFIXES))
        else:
            out.append(p)
    return out


def _tell_fallback(reason: str | None, told: str | None) -> str | None:
    """Say on stderr (once) that the device asked for is not the one running the model."""
    if reason and reason != told:
        print(f"sketchpad generate: {reason}", file=sys.stderr)
    return reason or told


def _check_options(args: argparse.Namespace) -> None:
    from sketchpad.errors import UsageError

    if not 1 <= args.variations <= MAX_VARIATIONS:
        raise UsageError(f"--variations must be 1..{MAX_VARIATIONS}, got {args.variations}")
    if not (args.seed >= 0 and args.seed + args.variations <= 2**63):
        raise UsageError(f"--seed must be 0 or more (below 2^63), got {args.seed}")


def _names(out: Path, stem: str, variations: int, single_file: bool) -> list[Path]:
    """The files one sketch's pictures go to: OUT (or OUT-1, OUT-2, ...) for a .png --out,
    NAME.png (or NAME-1.png, ...) in the --out folder otherwise."""
    folder, base = (out.parent, out.stem) if single_file else (out, stem)
    suffix = out.suffix if single_file else ".png"
    if variations == 1:
        return [folder / f"{base}{suffix}"]
    return [folder / f"{base}-{k}{suffix}" for k in range(1, variations + 1)]


def run(args: argparse.Namespace) -> int:
    from PIL import Image

    from sketchpad.checkpoint import load_model
    from sketchpad.data.hints import hints_from_rgba
    from sketchpad.engine import Engine, Request
    from sketchpad.errors import DataError, ModelFileError, UsageError
    from sketchpad.paths import default_model_path
    from sketchpad.sketch import photo_to_sketch, sketch_to_tensor
    from sketchpad.sketch_files import load_hints_picture, load_sketch_file

    _check_options(args)
    given_hints = load_hints_picture(args.hints) if args.hints else None  # fail before the model
    files = _inputs(args.inputs)
    if not files:
        raise DataError("no sketch files found in the given inputs")
    out = Path(args.out)
    single_file = out.suffix.lower() == ".png" and not out.is_dir()
    if single_file and len(files) > 1:
        raise UsageError(
            f"--out {out} is one file, but there are {len(files)} sketches; give a folder"
        )
    if args.server:
        engine = _remote_engine(args)
    else:
        model_path = Path(args.model) if args.model else default_model_path()
        if not args.model and not model_path.is_file():
            raise ModelFileError(f"the built-in model is missing ({model_path}); pass --model")
        engine = Engine(
            load_model(model_path, with_discriminator=False), args.device, args.precision
        )
    if args.variations > 1 and not engine.takes_noise:
        raise UsageError(
            f"the model {engine.name} takes no noise, so its {args.variations} variations "
            "would be identical pictures; use a model trained with noise, or leave "
            "--variations out"
        )
    told = _tell_fallback(engine.fallback_reason, None)
    (out.parent if single_file else out).mkdir(parents=True, exist_ok=True)
    res = engine.resolution
    full = int(getattr(engine, "output_resolution", res))  # the full picture's side
    failed: list[tuple[Path, str]] = []
    ignored_hints: list[Path] = []
    done = 0
    used: set[str] = set()
    for i, path in enumerate(files):
        try:
            sketch_file = load_sketch_file(path)
        except (DataError, OSError) as exc:
            failed.append((path, str(exc)))
            continue
        picture = sketch_file.picture
        rgba = given_hints if given_hints is not None else sketch_file.hints
        hints = None
        if rgba is not None and engine.takes_hints:
            _check_framing(path, picture, rgba, args.hints)
            hints = hints_from_rgba(rgba, full)  # (4, R_out, R_out): the engine resizes them
        elif rgba is not None:
            ignored_hints.append(path)
        to_ink = photo_to_sketch if args.photo else sketch_to_tensor
        sketch = to_ink(picture, res)
        full_sketch = to_ink(picture, full) if full != res else None
        name = path.stem
        while name in used:  # two inputs with one stem: keep both
            name += "_"
        used.add(name)
        targets = _names(out, name, args.variations, single_file)
        for k, target in enumerate(targets):
            request = Request(
                i,
                sketch,
                seed=args.seed + k,
                hints=hints,
                full_sketch=full_sketch,
                frame=not args.as_drawn,
            )
            result = engine.run(request)
            told = _tell_fallback(engine.fallback_reason, told)
            Image.fromarray(result.image).save(target)
        done += 1
    for path, reason in failed:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    if ignored_hints:
        if given_hints is not None:
            which = "--hints was"
        elif len(ignored_hints) == 1:
            which = f"the hint layer of {ignored_hints[0]} was"
        else:
            which = f"the hint layers of {len(ignored_hints)} files were"
        print(
            f"sketchpad generate: the model {engine.name} has no colour-hint inputs, so "
            f"{which} ignored and the pictures were generated from the ink alone (a model "
            "trained with hints uses them)",
            file=sys.stderr,
        )
    each = ""
    if args.variations > 1:
        last = args.seed + args.variations - 1
        each = f" ({args.variations} variations each, seeds {args.seed}-{last})"
    print(f"generated {done} of {len(files)}{each} at {full} px into {out} ({engine.describe()})")
    return 0 if done else 1


def _check_framing(
    path: Path, picture: Image.Image | np.ndarray, rgba: np.ndarray, hints_option: str | None
) -> None:
    """Say (on stderr) when the --hints picture is not shaped like the sketch: both are
    centred in a square frame, so the hints would not land where they were painted."""
    import numpy as np

    if hints_option is None:
        return  # an .ora's layers share its canvas
    sh, sw = picture.shape[:2] if isinstance(picture, np.ndarray) else picture.size[::-1]
    hh, hw = rgba.shape[:2]
    if abs(sw / sh - hw / hh) > 0.01 * max(sw / sh, hw / hh):
        print(
            f"sketchpad generate: the hints picture is {hw}×{hh} but {path.name} is {sw}×{sh}; "
            "each is centred in a square frame, so the hints may not land where they were "
            "painted (paint them on a picture of the sketch's shape)",
            file=sys.stderr,
        )


def _remote_engine(args: argparse.Namespace):
    from sketchpad.errors import UsageError
    from sketchpad.remote.client import RemoteEngine
    from sketchpad.remote.token import token_from_options

    if args.model:
        raise UsageError("--model and --server exclude each other (the server has its model)")
    return RemoteEngine(args.server, token_from_options(args.token, args.token_file))
