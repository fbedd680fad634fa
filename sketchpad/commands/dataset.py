"""`sketchpad dataset SPEC`: check a data source, count its splits, preview its pairs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sketchpad.errors import DataError


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "dataset",
        help="check a data source and preview its training pairs",
        description=(
            "Open a data source as the trainer would, print its pairs per split and the files "
            "it skipped, and optionally write a contact sheet of (sketch | target) pairs after "
            "normalisation and augmentation. SPEC: openmoji, aligned:PATH, paired:PATH, "
            "photos:PATH, pack:FILE or a folder PATH (its kind is detected)."
        ),
    )
    parser.add_argument("spec", metavar="SPEC", help="the data source")
    parser.add_argument("--preview", type=Path, metavar="PNG", help="write a contact sheet here")
    parser.add_argument("--count", type=int, default=16, help="pairs on the sheet (16)")
    parser.add_argument("--resolution", type=int, default=128, help="model resolution (128)")
    parser.add_argument("--split", default="train", choices=("train", "val", "test", "all"))
    parser.add_argument("--direction", default="AtoB", choices=("AtoB", "BtoA"))
    parser.add_argument("--seed", type=int, default=0, help="picks the pairs and augmentations")
    parser.add_argument("--no-augment", action="store_true", help="show pairs unaugmented")
    parser.add_argument(
        "--hints",
        action="store_true",
        help="sample colour hints for each pair as training a model with hint inputs does "
        "(dabs of the target's own colours; about a third of the pairs get none) and paint "
        "them over the sketches on the --preview sheet",
    )
    parser.add_argument(
        "--pack",
        type=Path,
        metavar="FILE",
        help="also write every pair of the source (all splits, unaugmented) at --resolution "
        "into one compressed file, for training where the source cannot be opened: "
        "`sketchpad train --data pack:FILE` (a .npz; about 10 MB for OpenMoji at 128 px)",
    )
    parser.add_argument(
        "--lines",
        default="",
        metavar="NAME=VALUE,...",
        help="line extraction for photos: sigma, k, tau, epsilon, phi, work_scale, normalize",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from sketchpad.data import AugmentConfig, LineParams, make_contact_sheet, open_source

    if args.count < 1:
        raise DataError(f"--count must be at least 1, got {args.count}")
    dataset = open_source(
        args.spec,
        resolution=args.resolution,
        split=args.split,
        direction=args.direction,
        augment=None if args.no_augment else AugmentConfig(),
        seed=args.seed,
        line_params=LineParams.parse(args.lines),
        progress=_render_progress(),
        warn=False,  # the report below says it all, once
        hints=AugmentConfig().hint_config() if args.hints else None,  # as training samples them
    )
    sheet = None if args.preview is None else make_contact_sheet(dataset, args.count, args.seed)
    # the report comes after the preview: files that failed to load for it are in it too
    print(dataset.describe(list_skipped_files=True))
    print("pairs per split: " + ", ".join(f"{k} {v}" for k, v in dataset.counts.items()))
    if sheet is not None:
        args.preview.parent.mkdir(parents=True, exist_ok=True)
        sheet.save(args.preview)
        with_hints = ", colour hints over the sketches" if args.hints else ""
        print(f"wrote {args.preview} ({min(args.count, len(dataset))} pairs{with_hints})")
    if args.pack is not None:
        from sketchpad.data.pack import write_pack

        args.pack.parent.mkdir(parents=True, exist_ok=True)
        summary = write_pack(dataset.source, args.resolution, args.pack)
        print(
            f"wrote {args.pack}: {summary['count']} pairs at {args.resolution} px, "
            f"{summary['bytes'] / 1e6:.1f} MB"
            + (f" ({len(summary['skipped'])} could not be loaded)" if summary["skipped"] else "")
        )
    return 0


def _render_progress():
    from tqdm import tqdm

    bar: list[tqdm] = []

    def update(done: int, total: int) -> None:
        if not bar:
            bar.append(tqdm(total=total, desc="rendering OpenMoji", unit="emoji", file=sys.stderr))
        bar[0].update(done - bar[0].n)
        if done == total:
            bar[0].close()

    return update
