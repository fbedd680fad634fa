"""The `sketchpad` command. With no subcommand it opens the app; subcommands run headless.

Each subcommand lives in `sketchpad/commands/<name>.py` and exposes
`register(subparsers) -> argparse.ArgumentParser` whose parser sets `func(args) -> int`.
Subcommands are dispatched before any GUI import, so the packaged executable can re-invoke
itself as a trainer without loading Qt widgets.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from sketchpad import __version__
from sketchpad.errors import SketchpadError

COMMANDS = ("inspect", "dataset", "train", "eval", "generate", "bench")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sketchpad",
        description="Draw lines, watch a GAN paint them. Without a subcommand, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"sketchpad {__version__}")
    parser.add_argument("--self-test", action="store_true", help="run the built-in self test")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"sketchpad.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--self-test":
        from sketchpad.selftest import run_self_test

        return run_self_test()
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version")):
        from sketchpad.ui.app import run_app  # the app takes its own options (--model PATH)

        return run_app(argv)
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        return int(args.func(args) or 0)
    except SketchpadError as exc:
        print(f"sketchpad {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
