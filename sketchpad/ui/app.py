"""`sketchpad` without a subcommand: the QApplication and the main window."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
import time
from collections.abc import Callable

from PySide6.QtCore import QSocketNotifier, Qt, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from sketchpad import __version__
from sketchpad.app_options import add_app_options
from sketchpad.display_check import display_problem
from sketchpad.paths import app_icon_path
from sketchpad.ui.main_window import MainWindow
from sketchpad.ui.settings import APPLICATION, ORGANISATION
from sketchpad.ui.train_tab import TrainTab

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
    """Run the model on all cores but one (see `app_threads`)."""
    import torch

    from sketchpad.devices import app_threads

    torch.set_num_threads(app_threads())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sketchpad", description="Open the Sketchpad app.")
    add_app_options(parser)  # the same options `sketchpad --help` lists
    return parser


def attach_train_tab(window: MainWindow) -> TrainTab:
    """The Train tab beside Draw: "Use in canvas" loads the newest exported model, closing
    the window asks what to do with a running trainer."""
    tab = TrainTab(  # a remote generator's model is not a file to fine-tune
        current_model=lambda: (
            window.model.path if window.model and not window.model.remote else None
        )
    )
    tab.set_canvas_source(window.canvas.image)  # "your drawing" row in the samples
    tab.useModelRequested.connect(window.open_model)
    tab.restoreModelRequested.connect(lambda path: path and window.open_model(path))
    window.add_tab(tab, "Train")
    window.add_close_guard(tab.confirm_close)
    window.add_shutdown_hook(tab.shutdown)
    return tab


def quit_after_first_frame(app: QApplication, window: MainWindow) -> None:
    """The measuring mode: print the time to the first picture and quit (exit status 0); when
    no model at all loads, print why on stderr and quit with status 2. Nothing waits for a
    person: error dialogs go to stderr too."""

    def report() -> None:
        print(f"first picture shown {seconds_since_process_start():.2f} s after start")
        window.shutdown()
        app.quit()

    def give_up(reason: str) -> None:
        print(f"sketchpad: error: no model could be loaded: {reason}", file=sys.stderr)
        window.shutdown()
        app.exit(2)

    window.show_error = lambda title, text: print(  # type: ignore[method-assign]
        f"sketchpad: {title}: {' '.join(text.split())}", file=sys.stderr
    )
    window.result_view.firstImagePainted.connect(report, type=Qt.ConnectionType.QueuedConnection)
    window.noModel.connect(give_up, type=Qt.ConnectionType.QueuedConnection)


def stop_on_signals(window: MainWindow) -> Callable[[], None]:
    """SIGTERM (a logout, `kill`) and SIGINT (Ctrl+C in the terminal) close the window as a
    quit that keeps unsaved work for the next start (`MainWindow.stop`). Python runs its
    signal handlers only between bytecodes, and Qt's event loop runs none, so the signal
    also writes to a socket that a QSocketNotifier watches: that wakes the loop. Returns
    what undoes it (after the loop ends)."""
    wake, woken = socket.socketpair()
    for end in (wake, woken):
        end.setblocking(False)
    signal.set_wakeup_fd(wake.fileno(), warn_on_full_buffer=False)
    notifier = QSocketNotifier(woken.fileno(), QSocketNotifier.Type.Read, window)
    notifier.activated.connect(lambda: woken.recv(64))

    def on_signal(number: int, _frame: object) -> None:
        name = signal.Signals(number).name
        QTimer.singleShot(0, lambda: window.stop(name))

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}

    def undo() -> None:
        notifier.setEnabled(False)
        signal.set_wakeup_fd(-1)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        wake.close()
        woken.close()

    return undo


def run_app(argv: list[str]) -> int:
    args, qt_args = build_parser().parse_known_args(argv)
    if QApplication.instance() is None and (problem := display_problem()):
        print(problem, file=sys.stderr)  # instead of Qt's abort
        return 2
    app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "sketchpad"])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationVersion(__version__)
    app.setWindowIcon(QIcon(str(app_icon_path())))
    app.setDesktopFileName("sketchpad")  # Wayland matches packaging/linux/sketchpad.desktop
    if qt_args:
        print(f"sketchpad: ignoring unknown arguments {' '.join(qt_args)}", file=sys.stderr)

    leave_a_core_for_the_gui()
    window = MainWindow(device=args.device)
    attach_train_tab(window)
    app.aboutToQuit.connect(window.shutdown)
    stop_handling_signals = stop_on_signals(window)
    if args.quit_after_first_frame:
        quit_after_first_frame(app, window)
    window.show()
    window.start(args.model)
    if not args.quit_after_first_frame:
        QTimer.singleShot(0, window.offer_restore)
    try:
        return app.exec()
    finally:
        stop_handling_signals()
