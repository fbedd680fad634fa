"""The `sketchpad` command. With no subcommand it opens the app; subcommands run headless.

Each subcommand lives in `sketchpad/commands/<name>.py` and exposes
`register(subparsers) -> argparse.ArgumentParser` whose parser sets `func(args) -> int`, and
optionally `early(argv) -> cleanup`, called before any parser is built (building them
imports torch): the trainer installs its stop handler there. Subcommands are dispatched
before any GUI import, so the packaged executable can re-invoke itself as a trainer without
loading Qt widgets.

Every failure exits with code 2 and one line on stderr: a user error (`SketchpadError`) says
what was wrong; anything else says an internal error happened, and with `--debug` prints its
traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from types import ModuleType

from sketchpad import __version__
from sketchpad.errors import SketchpadError, UsageError, failure_message

COMMANDS = (
    "inspect",
    "dataset",
    "train",
    "train-highres",
    "recalibrate",
    "eval",
    "generate",
    "bench",
    "serve",
)


class _Parser(argparse.ArgumentParser):
    """Usage errors are raised (`UsageError`), so that they end like any other failure."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    from sketchpad.app_options import add_app_options  # argparse only: no Qt

    parser = _Parser(
        prog="sketchpad",
        usage="%(prog)s [--model PATH] [--device DEVICE] [options] | %(prog)s COMMAND ...",
        description="Draw lines, watch a GAN paint them. Without a subcommand, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"sketchpad {__version__}")
    parser.add_argument("--self-test", action="store_true", help="run the built-in self test")
    add_app_options(parser, title="app options (without a COMMAND)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        p = importlib.import_module(f"sketchpad.commands.{name.replace('-', '_')}").register(sub)
        p.add_argument(
            "--debug",
            action="store_true",
            help="on an internal error, print its traceback (to stderr)",
        )
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--self-test":
        from sketchpad.selftest import run_self_test

        return run_self_test()
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version")):
        from sketchpad.ui.app import run_app  # the app takes its own options (--model PATH)

        return run_app(argv)
    command = argv[0] if argv[0] in COMMANDS else None
    module: ModuleType | None = None
    cleanup = args = None
    if command is not None:
        module = importlib.import_module(f"sketchpad.commands.{command.replace('-', '_')}")
        early = getattr(module, "early", None)
        cleanup = early(argv) if early is not None else None
    try:
        parser = build_parser()
        args, rest = parser.parse_known_args(argv)
        if rest:
            parser.error(f"unrecognized arguments: {' '.join(rest)}")
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        debug = args.debug if args is not None else "--debug" in argv
        failed = getattr(module, "failed", None)
        if failed is not None:  # e.g. the trainer's `error` event
            failed(argv, failure_message(exc))
        if debug and not isinstance(exc, SketchpadError):
            traceback.print_exc()
        else:
            print(f"sketchpad {command or ''}: error: {failure_message(exc)}", file=sys.stderr)
        return 2
    finally:
        if cleanup is not None:
            cleanup()


if __name__ == "__main__":
    sys.exit(main())
