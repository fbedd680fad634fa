"""The live loop measured through the real GUI code (offscreen): synthetic mouse events go
into the canvas, and the clock stops when the result view has painted the picture for the
final sketch. `latency`: one event on an idle app (press → picture shown). `stroke_end_latency`:
the release at the end of a quick stroke → the picture of the final sketch shown (a generation
in flight for a stale sketch is cut short for it). `final_latency`: the same release → the
full picture shown (for a model with high-resolution levels, after the preview; otherwise the
same picture). Also the canvas' frame time (event handled + canvas repainted) while the model
runs in the worker."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication


def _wait(app: QApplication, done, timeout_s: float = 60.0) -> None:
    end = time.perf_counter() + timeout_s
    while not done():
        if time.perf_counter() > end:
            raise TimeoutError("the live loop did not deliver a picture in time")
        app.processEvents()
        time.sleep(0.0005)


def live_loop_latency(model_path: Path, strokes: int = 20, frames: int = 120) -> dict[str, Any]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from sketchpad.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(["sketchpad-bench"])
    with tempfile.TemporaryDirectory(prefix="sketchpad-bench-") as tmp:
        settings = QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(settings=settings, device="cpu")
        window.resize(1280, 720)
        window.show()
        window.start(str(model_path))
        view, canvas, service = window.result_view, window.canvas, window.service

        def shown_latest() -> bool:
            frame = window.last_frame
            return frame is not None and frame.job.job_id == service.last_job_id

        def settled() -> bool:
            return shown_latest() and not service.busy

        _wait(app, settled)
        rect = canvas.target_rect()
        scale = rect.width() / canvas.side

        def at(x: float, y: float) -> QPoint:
            return QPoint(round(rect.x() + x * scale), round(rect.y() + y * scale))

        left = Qt.MouseButton.LeftButton
        none = Qt.KeyboardModifier.NoModifier
        side = canvas.side
        single, stroke_end, final = [], [], []
        for i in range(strokes):
            y = side * (0.15 + 0.7 * i / max(1, strokes - 1))
            # one event on an idle app: a dot (mouse press) → its picture on screen
            start = time.perf_counter()
            QTest.mousePress(canvas, left, none, at(side * 0.1, y))
            _wait(app, settled)
            view.repaint()
            single.append((time.perf_counter() - start) * 1000.0)
            # a whole stroke: moves while the worker is busy, then the release → the final picture
            for k in range(1, 6):
                QTest.mouseMove(canvas, at(side * (0.1 + 0.12 * k), y + 8 * (k % 2)))
            start = time.perf_counter()
            QTest.mouseRelease(canvas, left, none, at(side * 0.7, y))
            _wait(app, shown_latest)
            view.repaint()
            stroke_end.append((time.perf_counter() - start) * 1000.0)
            _wait(app, settled)
            view.repaint()
            final.append((time.perf_counter() - start) * 1000.0)

        # canvas frame time while the worker generates: one stroke event + repaint per frame
        frame_times, busy_frames = [], 0
        QTest.mousePress(canvas, left, none, at(side * 0.1, side * 0.5))
        for k in range(frames):
            t = time.perf_counter()
            QTest.mouseMove(
                canvas, at(side * (0.1 + 0.8 * k / frames), side * (0.5 + 0.1 * (k % 3)))
            )
            canvas.repaint()
            frame_times.append((time.perf_counter() - t) * 1000.0)
            busy_frames += service.busy
            app.processEvents()
            time.sleep(max(0.0, 1 / 60 - (time.perf_counter() - t)))
        QTest.mouseRelease(canvas, left, none, at(side * 0.9, side * 0.5))
        _wait(app, settled)
        window.ask_save_changes = lambda: "discard"  # a benchmark's sketch is not worth keeping
        window.close()
    frame_times.sort()
    return {
        "latency": _stats(single),
        "stroke_end_latency": _stats(stroke_end),
        "final_latency": _stats(final),
        "frame": {
            **_stats(frame_times),
            "max_ms": frame_times[-1],
            "frames_while_generating": busy_frames,
            "frames": frames,
        },
    }


def _stats(values: list[float]) -> dict[str, float]:
    values = sorted(values)
    return {
        "median_ms": statistics.median(values),
        "p95_ms": values[round(0.95 * (len(values) - 1))],
    }
