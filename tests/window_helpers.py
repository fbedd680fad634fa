"""What the window tests share: the tiny configs, an engine that sleeps instead of thinking,
a stroke drawn by hand, and whether the window has caught up with the last sketch."""

import threading
import time

import numpy as np
from PySide6.QtCore import QPointF

from models import DiscriminatorConfig, GeneratorConfig
from sketchpad.engine import Result
from sketchpad.ui.main_window import MainWindow

R = 32
G_CFG = GeneratorConfig(resolution=R, base_width=4, max_width=8, depth=3, noise_channels=2)
D_CFG = DiscriminatorConfig(ndf=4, branches=2, resolution=R, max_mult=2)


class FakeEngine:
    """An engine that sleeps instead of thinking and remembers what it was asked."""

    def __init__(self, delay: float = 0.05, name: str = "fake") -> None:
        self.delay, self.name = delay, name
        self.resolution, self.takes_noise, self.has_discriminator = R, False, False
        self.fallback_reason = None
        self.branches, self.attention_levels = (), ()  # no overlays
        self.calls: list[tuple[int, float]] = []
        self.threads: set[int] = set()

    def run(self, request):
        self.threads.add(threading.get_ident())
        time.sleep(self.delay)
        self.calls.append((request.request_id, float(request.sketch.sum())))
        image = np.full((R, R, 3), len(self.calls) % 256, np.uint8)
        return Result(request.request_id, image, timings={"total": self.delay * 1000})

    def set_device(self, name):
        self.fallback_reason = (
            "CUDA is not usable (no GPU); using the CPU" if name == "cuda" else None
        )
        return self.fallback_reason

    def describe(self):
        return "Fake CPU"


def draw(w: MainWindow, y: float = 64.0, x0: float = 40.0, x1: float = 470.0, steps: int = 5):
    c = w.canvas
    c.begin_stroke(QPointF(x0, y))
    for i in range(1, steps + 1):
        c.continue_stroke(QPointF(x0 + (x1 - x0) * i / steps, y + 30 * (i % 2)))
    c.end_stroke()


def settled(w: MainWindow) -> bool:
    f = w.last_frame
    return f is not None and f.job.job_id == w.service.last_job_id and not w.service.busy


class RecordingEngine(FakeEngine):
    """A fake engine that keeps every request (hints and seeds included), may take colour
    hints and noise, and paints each picture in a colour of its seed, so variations differ."""

    def __init__(self, delay: float = 0.0, takes_hints: bool = True, takes_noise: bool = True):
        super().__init__(delay=delay, name="recording")
        self.takes_hints, self.takes_noise = takes_hints, takes_noise
        self.requests = []

    def run(self, request):
        result = super().run(request)
        self.requests.append(request)
        seed = request.seed or 0
        result.image[:] = (40 + seed * 37 % 180, 60 + seed * 53 % 160, 200 - seed * 29 % 150)
        return result


def hint_stroke(w: MainWindow, colour, y: float = 256.0, x0: float = 100.0, x1: float = 400.0):
    """A thick stroke of `colour` with the Colour tool, across the canvas at height `y`."""
    from PySide6.QtGui import QColor

    w.draw_tab.hints.palette.set_colour(QColor(*colour))
    w.draw_tab.colour_action.trigger()
    w.canvas.set_brush_size(40)
    draw(w, y=y, x0=x0, x1=x1)
