"""Open the real Sketchpad window, draw a sketch with synthetic mouse events, wait for the
generated picture and save a screenshot of the window.

    xvfb-run -s "-screen 0 1400x900x24" python scripts/screenshot.py --out docs/screenshot.png \
        [--model PATH]

With `--overlay verdicts` the discriminator's verdicts are drawn over the result (`--branch`
picks one by its label, `--hover Y,X` hovers the cell at those picture fractions); with
`--overlay probe` the attention is probed at `--hover Y,X` (default: the centre):

    xvfb-run -s "-screen 0 1400x900x24" python scripts/screenshot.py --out docs/verdicts.png \
        --overlay verdicts --hover 0.3,0.62

`--drawing house|tree|fish|smiley` picks the drawing; with `--hints` it is coloured with hint
dabs (the model must take colour hints); the variations strip under the result fills in first
when the model takes noise:

    xvfb-run -s "-screen 0 1400x900x24" python scripts/screenshot.py --out docs/hints.png \
        --model MODEL_WITH_HINTS --hints

With `--zoom Z[,Y,X]` both panes are zoomed Z times about the picture point at fractions
(Y, X) (default: the centre), as Ctrl+wheel would:

    xvfb-run -s "-screen 0 1400x900x24" python scripts/screenshot.py --out docs/zoom.png \
        --zoom 2.5,0.4,0.4

Settings and the autosave go to a temporary folder: the user's own are never touched.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def smiley(side: int) -> list[list[tuple[float, float]]]:
    """Strokes of a smiling face, in canvas pixels."""
    c, r = side / 2, side * 0.36

    def arc(cx, cy, rx, ry, a0, a1, n=40):
        return [
            (cx + rx * math.cos(a0 + (a1 - a0) * i / n), cy + ry * math.sin(a0 + (a1 - a0) * i / n))
            for i in range(n + 1)
        ]

    return [
        arc(c, c, r, r, -math.pi / 2, 1.5 * math.pi, 72),  # face
        arc(c - r * 0.38, c - r * 0.25, r * 0.09, r * 0.16, 0, 2 * math.pi, 16),  # eyes
        arc(c + r * 0.38, c - r * 0.25, r * 0.09, r * 0.16, 0, 2 * math.pi, 16),
        arc(c, c + r * 0.05, r * 0.55, r * 0.5, 0.15 * math.pi, 0.85 * math.pi, 24),  # smile
    ]


def house(side: int) -> list[list[tuple[float, float]]]:
    """Strokes of a house with a door and a window, on the ground, in canvas pixels."""
    u = side / 512

    def pts(*xy):
        return [(x * u, y * u) for x, y in xy]

    return [
        pts((120, 250), (120, 420), (390, 420), (390, 250), (120, 250)),  # walls
        pts((100, 260), (255, 130), (410, 260)),  # roof
        pts((220, 420), (220, 330), (280, 330), (280, 420)),  # door
        pts((150, 290), (200, 290), (200, 330), (150, 330), (150, 290)),  # window
        pts((0, 440), (512, 440)),  # ground, across the picture
    ]


HOUSE_DABS = (  # (colour, brush size, stroke) in 512 px canvas pixels
    ((80, 150, 230), 40, ((60, 60), (200, 70), (330, 55), (460, 80))),  # sky
    ((200, 40, 40), 26, ((170, 230), (255, 170), (340, 230))),  # roof
    ((240, 210, 120), 30, ((150, 380), (330, 380), (360, 300))),  # walls
    ((120, 70, 30), 18, ((250, 360), (250, 400))),  # door
    ((60, 160, 60), 30, ((60, 475), (250, 480), (460, 475))),  # grass
)


def tree(side: int) -> list[list[tuple[float, float]]]:
    """Strokes of a tree: a round crown on a trunk, on the ground."""
    u = side / 512
    crown = [
        (256 + 150 * math.cos(2 * math.pi * i / 60), 190 + 120 * math.sin(2 * math.pi * i / 60))
        for i in range(61)
    ]
    return [
        [(x * u, y * u) for x, y in crown],
        [(x * u, y * u) for x, y in ((225, 300), (220, 440))],  # trunk
        [(x * u, y * u) for x, y in ((290, 300), (295, 440))],
        [(x * u, y * u) for x, y in ((0, 445), (512, 445))],  # ground, across the picture
    ]


TREE_DABS = (
    ((50, 150, 50), 40, ((170, 160), (256, 120), (340, 170), (300, 240), (200, 230))),  # crown
    ((120, 75, 35), 22, ((256, 320), (256, 430))),  # trunk
)


def fish(side: int) -> list[list[tuple[float, float]]]:
    """Strokes of a fish swimming left: an oval body, a tail, an eye."""
    u = side / 512
    body = [
        (240 + 160 * math.cos(2 * math.pi * i / 60), 256 + 90 * math.sin(2 * math.pi * i / 60))
        for i in range(61)
    ]
    eye = [
        (150 + 12 * math.cos(2 * math.pi * i / 16), 235 + 12 * math.sin(2 * math.pi * i / 16))
        for i in range(17)
    ]
    tail = [(395, 256), (470, 190), (470, 320), (395, 256)]
    return [[(x * u, y * u) for x, y in stroke] for stroke in (body, tail, eye)]


FISH_DABS = (
    ((240, 140, 30), 36, ((200, 230), (300, 260), (220, 300))),  # body
    ((40, 110, 200), 22, ((440, 230), (445, 290))),  # tail
)


DRAWINGS = {
    "smiley": (smiley, ()),
    "house": (house, HOUSE_DABS),
    "tree": (tree, TREE_DABS),
    "fish": (fish, FISH_DABS),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="docs/screenshot.png", help="PNG to write")
    parser.add_argument("--model", help="model file (default: the shipped default model)")
    parser.add_argument("--device", default="cpu", help="device (default: cpu)")
    parser.add_argument("--size", default="1280x720", help="window size, WxH")
    parser.add_argument("--overlay", choices=("verdicts", "probe"), help="switch an overlay on")
    parser.add_argument("--branch", help="verdicts: the branch to show, by label (default: first)")
    parser.add_argument("--hover", help="Y,X picture fractions to hover (verdicts), click (probe)")
    parser.add_argument("--zoom", help="Z[,Y,X]: zoom both panes Z times about picture point Y,X")
    parser.add_argument(
        "--drawing",
        choices=sorted(DRAWINGS),
        help="what to draw (default: smiley, or house with --hints)",
    )
    parser.add_argument("--hints", action="store_true", help="dab the drawing's colour hints")
    parser.add_argument(
        "--small",
        action="store_true",
        help="draw it at 0.45 of its size in the top-left corner (as people often draw)",
    )
    parser.add_argument(
        "--as-drawn",
        action="store_true",
        help="turn Model ▸ Fit small drawings off (on by default, as in the app)",
    )
    parser.add_argument(
        "--variation", type=int, choices=range(1, 5), help="click this thumbnail (1-4) of the strip"
    )
    args = parser.parse_args(argv)

    scratch = Path(tempfile.mkdtemp(prefix="sketchpad-screenshot-"))
    os.environ["SKETCHPAD_DATA_DIR"] = str(scratch / "data")

    from PySide6.QtCore import QPoint, QSettings, Qt
    from PySide6.QtGui import QColor
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from sketchpad.paths import default_model_path
    from sketchpad.ui.app import attach_train_tab, leave_a_core_for_the_gui
    from sketchpad.ui.main_window import MainWindow

    model = args.model or str(default_model_path())
    if not Path(model).is_file():
        print(f"screenshot: no model at {model}; pass --model PATH", file=sys.stderr)
        return 2
    app = QApplication.instance() or QApplication(["sketchpad"])
    leave_a_core_for_the_gui()  # as the app does
    settings = QSettings(str(scratch / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("model/fit_to_frame", not args.as_drawn)
    window = MainWindow(settings=settings, device=args.device)
    attach_train_tab(window)
    width, height = (int(v) for v in args.size.split("x"))
    window.resize(width, height)
    window.show()

    def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise SystemExit(f"screenshot: timed out waiting for {what}")
            app.processEvents()
            time.sleep(0.005)

    wait_until(window.isVisible, "the window")
    window.start(model)
    wait_until(lambda: window.last_frame is not None, "the model")

    canvas = window.canvas
    canvas.set_brush_size(10)
    rect = canvas.target_rect()
    scale = rect.width() / canvas.side

    shrink, shift = (0.45, 0.06 * canvas.side) if args.small else (1.0, 0.0)

    def to_widget(p: tuple[float, float]) -> QPoint:
        x, y = (p[0] * shrink + shift) * scale, (p[1] * shrink + shift) * scale
        return QPoint(round(rect.x() + x), round(rect.y() + y))

    button = Qt.MouseButton.LeftButton

    def drag(stroke: list[tuple[float, float]], steps: int = 1) -> None:
        QTest.mousePress(canvas, button, Qt.KeyboardModifier.NoModifier, to_widget(stroke[0]))
        for a, b in zip(stroke, stroke[1:], strict=False):
            for i in range(1, steps + 1):
                t = i / steps
                QTest.mouseMove(
                    canvas, to_widget((a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t))
                )
                app.processEvents()
                time.sleep(0.004)
        QTest.mouseRelease(canvas, button, Qt.KeyboardModifier.NoModifier, to_widget(stroke[-1]))

    drawing = args.drawing or ("house" if args.hints else "smiley")
    strokes, dabs = DRAWINGS[drawing]
    for stroke in strokes(canvas.side):
        drag(stroke, steps=12 if drawing != "smiley" else 1)
    if args.hints:
        tools = window.draw_tab.hints
        if not tools.colour_action.isEnabled():
            raise SystemExit(f"screenshot: {tools.colour_action.toolTip()}")
        tools.colour_action.trigger()
        for colour, size, stroke in dabs:
            tools.palette.set_colour(QColor(*colour))
            canvas.set_brush_size(max(2, round(size * shrink * canvas.side / 512)))
            drag([(x * canvas.side / 512, y * canvas.side / 512) for x, y in stroke], steps=10)

    def settled() -> bool:
        frame = window.last_frame
        return frame is not None and frame.job.job_id == window.service.last_job_id

    wait_until(lambda: settled() and not window.service.busy, "the last picture")
    strip = window.draw_tab.variation_strip
    if window.variations.enabled:
        wait_until(
            lambda: (
                all(t.image is not None and not t.stale for t in strip.thumbnails)
                and not window.service.busy
            ),
            "the variations",
        )
        if args.variation:
            thumb = strip.thumbnails[args.variation - 1]
            QTest.mouseClick(thumb, button, Qt.KeyboardModifier.NoModifier, thumb.rect().center())
            wait_until(lambda: settled() and not window.service.busy, "the chosen variation")
    if args.zoom:
        zoom(window, args.zoom)
    if args.overlay:
        show_overlay(window, args, wait_until, settled)
    QTest.qWait(300)  # let the status bar and views repaint
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not window.grab().save(str(out), "PNG"):
        print(f"screenshot: cannot write {out}", file=sys.stderr)
        return 1
    frame = window.last_frame
    print(
        f"saved {out} ({window.width()}×{window.height()}); last picture "
        f"{frame.result.timings.get('total', frame.milliseconds):.0f} ms on "
        f"{window.device_label.text()}"
    )
    window.undo_stack.setClean()  # nothing to ask about on close
    window.close()
    return 0


def zoom(window, spec: str) -> None:
    """Zoom the Draw tab's shared view: `Z` or `Z,Y,X` (picture fractions of the centre)."""
    from PySide6.QtCore import QPointF

    z, y, x = (float(v) for v in (spec.split(",") + ["0.5", "0.5"])[:3])
    window.draw_tab.view.set_view(z, QPointF(x, y))


def show_overlay(window, args, wait_until, settled) -> None:
    """Switch on the overlay the arguments ask for and hover (or click) where they say."""
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    tab = window.draw_tab
    action = tab.verdicts_action if args.overlay == "verdicts" else tab.probe_action
    if not action.isEnabled():
        raise SystemExit(f"screenshot: {action.toolTip()}")
    action.trigger()
    wait_until(lambda: settled() and not window.service.busy, "the overlay's picture")
    if args.branch:
        box = tab.overlay_panel.branch_box
        index = box.findText(args.branch)
        if index < 0:
            labels = [box.itemText(i) for i in range(box.count())]
            raise SystemExit(f"screenshot: no branch {args.branch!r}; the model has {labels}")
        box.setCurrentIndex(index)
        box.activated.emit(index)
    if args.hover:
        y, x = (float(v) for v in args.hover.split(","))
        view = window.result_view
        rect = view.target_rect()
        pos = QPoint(round(rect.x() + x * rect.width()), round(rect.y() + y * rect.height()))
        if args.overlay == "probe":
            QTest.mouseClick(view, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, pos)
            wait_until(lambda: settled() and not window.service.busy, "the probed picture")
        QTest.mouseMove(view, pos)
        wait_until(lambda: bool(tab.overlay.hover_cells) or args.overlay == "probe", "the hover")


if __name__ == "__main__":
    sys.exit(main())
