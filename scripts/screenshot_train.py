"""Show the Train tab mid-run and save a screenshot of it.

    xvfb-run -s "-screen 0 1400x900x24" python scripts/screenshot_train.py --out docs/train_tab.png
    xvfb-run -s "-screen 0 1400x900x24" python scripts/screenshot_train.py --quick \
        --out docs/train_quick.png

The trainer runs as the tab runs it (a child process). By default on small synthetic data and a
small network at 64 px, so the picture comes within a minute or two on a CPU; with --quick, the
"Quick fine-tune" preset fine-tunes the default model on OpenMoji, with an example sketch as the
canvas, and the picture is taken at its first sample. Runs, settings and caches go to a
temporary folder.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SIDE = 64
NETWORK_FLAGS = [
    "--g-base-width",
    "8",
    "--g-max-width",
    "32",
    "--g-depth",
    "4",
    "--g-attention-levels",
    "1",
    "--d-ndf",
    "8",
    "--log-every",
    "2",
    "--sample-count",
    "4",
    "--eval-limit",
    "4",
]


def make_shapes(root: Path, count: int = 32) -> Path:
    """root/sketches and root/images: outlined shapes and their coloured versions."""
    from PIL import Image, ImageDraw

    rng = random.Random(0)
    (root / "sketches").mkdir(parents=True)
    (root / "images").mkdir(parents=True)
    for i in range(count):
        sketch = Image.new("RGB", (SIDE, SIDE), "white")
        image = Image.new("RGB", (SIDE, SIDE), (250, 246, 235))
        ds, di = ImageDraw.Draw(sketch), ImageDraw.Draw(image)
        for _ in range(rng.randint(1, 2)):
            x0, y0 = rng.randint(4, 28), rng.randint(4, 28)
            x1, y1 = x0 + rng.randint(18, 32), y0 + rng.randint(18, 32)
            colour = tuple(rng.randint(40, 230) for _ in range(3))
            shape = rng.choice(("ellipse", "rectangle", "triangle"))
            if shape == "triangle":
                points = [(x0, y1), ((x0 + x1) / 2, y0), (x1, y1)]
                di.polygon(points, fill=colour, outline="black", width=2)
                ds.polygon(points, outline="black", width=2)
            else:
                getattr(di, shape)((x0, y0, x1, y1), fill=colour, outline="black", width=2)
                getattr(ds, shape)((x0, y0, x1, y1), outline="black", width=2)
        sketch.save(root / "sketches" / f"s{i:02d}.png")
        image.save(root / "images" / f"s{i:02d}.png")
    return root


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="docs/train_tab.png", help="PNG to write")
    parser.add_argument("--size", default="1360x860", help="window size, WxH")
    parser.add_argument("--steps", type=int, default=600, help="the run's length")
    parser.add_argument("--at", type=int, default=160, help="take the picture after this step")
    parser.add_argument("--timeout", type=float, default=300, help="give up after (seconds)")
    parser.add_argument(
        "--quick", action="store_true", help="the quick preset on OpenMoji, at its first sample"
    )
    parser.add_argument(
        "--canvas",
        default=str(Path(__file__).resolve().parent.parent / "assets" / "examples" / "cat.png"),
        help="--quick: the canvas sketch",
    )
    args = parser.parse_args(argv)

    scratch = Path(tempfile.mkdtemp(prefix="sketchpad-train-screenshot-"))
    env = {
        "SKETCHPAD_DATA_DIR": str(scratch / "data"),
        "SKETCHPAD_CACHE_DIR": str(scratch / "cache"),
    }
    os.environ.update(env)
    data = make_shapes(scratch / "shapes")

    from PySide6.QtGui import QImage
    from PySide6.QtWidgets import QApplication

    from sketchpad.ui.train_tab import TrainTab

    app = QApplication.instance() or QApplication(sys.argv[:1])
    tab = TrainTab(
        attach_running=False, extra_args=[] if args.quick else NETWORK_FLAGS, child_env=env
    )
    tab.ask_close_action = lambda: "stop"
    tab.setWindowTitle("Sketchpad — Train")
    width, height = (int(v) for v in args.size.lower().split("x"))
    tab.resize(width, height)
    s = tab.settings_panel
    if args.quick:
        canvas = QImage(args.canvas)
        tab.set_canvas_source(lambda: canvas)
        tab.start_panel.set_choice("default")
        tab.setup.preset_row.apply("quick")
        tab.data_panel.set_spec("openmoji")
    else:
        s.resolution.setCurrentIndex(s.resolution.findData(str(SIDE)))
        s.steps.setValue(args.steps)
        s.batch.setValue(4)
        s.precision.setCurrentIndex(s.precision.findData("fp32"))
        s.sample_every.setValue(40)
        s.checkpoint_every.setValue(100)
        tab.data_panel.set_folder(str(data))
    tab.show()
    began = time.monotonic()

    def wait(condition, what: str) -> None:
        deadline = time.monotonic() + args.timeout
        while not condition():
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out waiting for {what}")
            app.processEvents()
            time.sleep(0.02)

    wait(lambda: tab.data_panel.summary is not None or tab.data_panel.error, "the data preview")
    if tab.data_panel.error:
        raise SystemExit(f"data preview failed: {tab.data_panel.error}")
    if not args.quick:
        tab.start_panel.set_choice("scratch")  # a new 64 px network, not the default's 128 px
    started = time.monotonic()
    tab.start_training()
    try:
        at = 1 if args.quick else args.at
        wait(lambda: tab.monitor.progress.value() >= at or tab.last_end is not None, "training")
        if tab.last_end is not None:
            raise SystemExit(f"training ended early: {tab.last_end.message}")
        wait(lambda: tab.monitor.sample_view.has_image(), "a sample grid")
        print(
            f"first sample {time.monotonic() - started:.1f} s after Start "
            f"({started - began:.1f} s of data preview before)"
        )
        tab.monitor.loss_plot.redraw()
        for _ in range(10):
            app.processEvents()
            time.sleep(0.02)
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        if not tab.grab().save(str(out)):
            raise SystemExit(f"could not write {out}")
        print(f"wrote {out} at step {tab.monitor.progress.value()}")
    finally:
        if tab.is_running():
            tab.stop_training()
            wait(lambda: not tab.is_running(), "the trainer to stop")
        print(f"run folder: {tab.run_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
