"""The options of `sketchpad` without a subcommand (the app). Here, without Qt, so that the
top-level parser (`sketchpad --help`) lists them too and the app parses the same ones."""

from __future__ import annotations

import argparse

from sketchpad.devices import DEVICE_CHOICES


def add_app_options(parser: argparse.ArgumentParser, title: str | None = None) -> None:
    """The app's options on `parser`. With a `title` (the top-level `sketchpad --help`), in a
    group of that name that only lists them: they set nothing on a subcommand's namespace."""
    group = parser.add_argument_group(title, argument_default=argparse.SUPPRESS) if title else None
    target = group if group is not None else parser
    target.add_argument("--model", metavar="PATH", help="model file to open (default: last used)")
    target.add_argument("--device", choices=DEVICE_CHOICES, help="device to run the model on")
    target.add_argument(
        "--quit-after-first-frame",
        action="store_true",
        help="print the time from process start to the first picture shown, then quit",
    )
