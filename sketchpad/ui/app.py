"""`sketchpad` without a subcommand: the QApplication and the main window."""

from __future__ import annotations

import argparse
import os
import sys
import time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from sketchpad import __version__
from sketchpad.devices import DEVICE_CHOICES
from sketchpad.ui.main_window import MainWindow
from sketchpad.ui.settings import APPLICATION, ORGANISATION

_IMPORTED_AT = time.perf_counter()


def seconds_since_process_start() -> float:
    """Wall time since this process started (Linux: from /proc; elsewhere: since this module
    was imported, which leaves out the interpreter's start)."""
    try:
        with open("/proc/self/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return time.perf_counter() - _IMPORTED_AT


def leave_a_core_for_the_gui() -> None:
    """Run the model on all cores but one. A thread team as wide as the machine stalls at every
    barrier when the GUI thread (or another program) takes a core: on 2 busy cores a 15 ms
    generation then took up to a second."""
    import torch

    torch.set_num_threads(max(1, (os.cpu_count() or 1) - 1))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sketchpad", description="Open the Sketchpad app.")
    parser.add_argument("--model", metavar="PATH", help="model file to open (default: last used)")
    parser.add_argument("--device", choices=DEVICE_CHOICES, help="device to run the model on")
    parser.add_argument(
        "--quit-after-first-frame",
        action="store_true",
        help="print the time from process start to the first picture shown, then quit",
    )
    return parser


def run_app(argv: list[str]) -> int:
    args, qt_args = build_parser().parse_known_args(argv)
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "sketchpad"])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationVersion(__version__)
    if qt_args:
        print(f"sketchpad: ignoring unknown arguments {' '.join(qt_args)}", file=sys.stderr)

    leave_a_core_for_the_gui()
    window = MainWindow(device=args.device)
    app.aboutToQuit.connect(window.shutdown)
    if args.quit_after_first_frame:

        def report() -> None:
            print(f"first picture shown {seconds_since_process_start():.2f} s after start")
            window.shutdown()
            app.quit()

        window.result_view.firstImagePainted.connect(
            report, type=Qt.ConnectionType.QueuedConnection
        )
    window.show()
    window.start(args.model)
    if not args.quit_after_first_frame:
        QTimer.singleShot(0, window.offer_restore)
    return app.exec()
