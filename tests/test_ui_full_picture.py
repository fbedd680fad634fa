"""The app's two steps for a model with high-resolution levels: the preview while the pen
moves, the full picture at a stroke's end or when the pen rests; stale work cut short for a
final sketch; Export writes the full picture."""

import time

import numpy as np
from PySide6.QtCore import QPointF
from PySide6.QtGui import QImage

from sketchpad.engine import Result
from tests.window_helpers import FakeEngine, R, draw, settled

FULL = 4 * R


class FakeHighEngine(FakeEngine):
    """A fake with high-resolution levels: `run` (the trunk) takes `units` steps of `step`
    seconds, calling `between` after each, as the real engine does; `run_full` paints FULL px."""

    accepts_between = True

    def __init__(self, units: int = 8, step: float = 0.01) -> None:
        super().__init__(delay=0.0, name="high")
        self.output_resolution = FULL
        self.units, self.step = units, step
        self.finished: list[int] = []  # trunk runs that ran to their end
        self.full_runs: list[int] = []
        self.dropped = 0

    def run(self, request, between=None):
        for _ in range(self.units):
            time.sleep(self.step)
            if between is not None:
                try:
                    between()
                except Exception:
                    self.dropped += 1
                    raise
        self.finished.append(request.request_id)
        image = np.full((R, R, 3), 90, np.uint8)
        return Result(request.request_id, image, timings={"generator": 1.0})

    def run_full(self, request, between=None):
        assert request.full_sketch is not None and request.full_sketch.shape[-1] == FULL
        for _ in range(self.units):
            time.sleep(self.step)
            if between is not None:
                between()
        self.full_runs.append(request.request_id)
        image = np.full((FULL, FULL, 3), 200, np.uint8)
        return Result(request.request_id, image, timings={"highres": 1.0}, full=True)


def test_stroke_end_shows_preview_then_full_picture_and_exports_it(make_window, qtbot, tmp_path):
    engine = FakeHighEngine()
    w = make_window(engine_factory=lambda path, device: engine)
    shown = []
    w.frameShown.connect(lambda f: shown.append((f.job.job_id, f.image.width())))
    with qtbot.waitSignal(w.frameShown, timeout=10_000):
        w.start("fake")
    assert w.model.picture_side == FULL
    assert f"{FULL} px" in w.model_label.text()
    shown.clear()
    draw(w)
    qtbot.waitUntil(lambda: settled(w) and w.last_frame.image.width() == FULL, timeout=10_000)
    last = w.service.last_job_id
    assert (last, R) in shown and shown[-1] == (last, FULL)  # the preview came first
    assert engine.full_runs[-1] == last
    result = tmp_path / "r.png"
    w.ask_save_path = lambda title, suggested, name_filter: str(result)
    offered = []
    w.ask_export_size = lambda native: offered.append(native) or native
    assert w.export_result() and QImage(str(result)).width() == FULL and offered == [FULL]


def test_previews_while_drawing_and_the_full_picture_when_the_pen_rests(make_window, qtbot):
    engine = FakeHighEngine(units=2, step=0.005)
    w = make_window(engine_factory=lambda path, device: engine)
    with qtbot.waitSignal(w.frameShown, timeout=10_000):
        w.start("fake")
    engine.full_runs.clear()
    c = w.canvas
    c.begin_stroke(QPointF(40, 60))
    c.continue_stroke(QPointF(200, 90))
    qtbot.waitUntil(lambda: settled(w), timeout=10_000)
    assert w.last_frame.image.width() == R and not engine.full_runs  # still drawing
    qtbot.waitUntil(lambda: bool(engine.full_runs), timeout=5_000)  # the pen rested
    qtbot.waitUntil(lambda: settled(w) and w.last_frame.image.width() == FULL, timeout=5_000)
    assert c.is_drawing
    c.end_stroke()
    qtbot.waitUntil(lambda: settled(w) and w.last_frame.image.width() == FULL, timeout=5_000)


def test_a_final_sketch_cuts_the_stale_picture_in_flight_short(make_window, qtbot):
    engine = FakeHighEngine(units=40, step=0.01)  # 0.4 s a picture
    w = make_window(engine_factory=lambda path, device: engine)
    with qtbot.waitSignal(w.frameShown, timeout=10_000):
        w.start("fake")
    qtbot.waitUntil(lambda: settled(w), timeout=10_000)
    engine.finished.clear()
    c = w.canvas
    c.begin_stroke(QPointF(40, 60))
    c.continue_stroke(QPointF(200, 90))  # a preview starts
    stale = w.service.last_job_id
    qtbot.waitUntil(lambda: w.service.busy, timeout=2_000)
    time.sleep(0.05)
    start = time.perf_counter()
    c.end_stroke()  # the final sketch
    final = w.service.last_job_id
    qtbot.waitUntil(lambda: bool(engine.finished) and engine.finished[-1] == final, timeout=10_000)
    took = time.perf_counter() - start
    assert stale not in engine.finished and engine.dropped >= 1
    assert took < 0.75  # one picture (0.4 s), not the stale one's rest first
    qtbot.waitUntil(lambda: settled(w) and w.last_frame.image.width() == FULL, timeout=10_000)


def test_a_new_stroke_drops_the_full_picture_in_flight(make_window, qtbot):
    engine = FakeHighEngine(units=30, step=0.01)
    w = make_window(engine_factory=lambda path, device: engine)
    with qtbot.waitSignal(w.frameShown, timeout=10_000):
        w.start("fake")
    qtbot.waitUntil(lambda: settled(w) and w.last_frame.image.width() == FULL, timeout=10_000)
    engine.full_runs.clear()
    draw(w, y=100)
    first = w.service.last_job_id
    qtbot.waitUntil(lambda: bool(engine.finished) and engine.finished[-1] == first, timeout=10_000)
    draw(w, y=300)  # while the first stroke's full picture is painted
    second = w.service.last_job_id
    qtbot.waitUntil(
        lambda: bool(engine.full_runs) and engine.full_runs[-1] == second, timeout=10_000
    )
    assert first not in engine.full_runs
