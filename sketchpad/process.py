"""How the app re-invokes itself as a child process (the Train tab's trainer, the self-test).

From source the child is `python -m sketchpad ARGS`; in a PyInstaller bundle the executable
itself takes the subcommand (`sketchpad ARGS`), dispatched before any GUI import.
"""

from __future__ import annotations

import sys


def is_bundled() -> bool:
    return bool(getattr(sys, "frozen", False))


def self_command(*args: str) -> tuple[str, list[str]]:
    """(program, arguments) that run `sketchpad ARGS` with this same installation."""
    if is_bundled():
        return sys.executable, list(args)
    return sys.executable, ["-m", "sketchpad", *args]
