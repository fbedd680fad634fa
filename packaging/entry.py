"""The bundle's entry point: PyInstaller runs this file as `__main__` (see build.spec)."""

import multiprocessing
import sys

if __name__ == "__main__":
    # A frozen program has no `python -c ...` to start multiprocessing's helpers with: they
    # re-invoke this executable, and freeze_support() turns those invocations into the helper.
    multiprocessing.freeze_support()

    from sketchpad.cli import main

    sys.exit(main())
