"""The canvas sketch goes into the running trainer's folder (atomically, only when it changed),
for the samples' "your drawing" row."""

from __future__ import annotations

import os
import signal
import sys

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPainter, QPen

from sketchpad.train import child, runs
from sketchpad.train.run_files import CANVAS_SKETCH_NAME
from sketchpad.ui.canvas_link import CanvasFeed
from sketchpad.ui.train_tab import TrainTab

SLEEPER = "import time\ntime.sleep(60)\n"


def drawing(x: int) -> QImage:
    image = QImage(64, 64, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.white)
    painter = QPainter(image)
    painter.setPen(QPen(Qt.GlobalColor.black, 3))
    painter.drawLine(x, 4, 60, 60)
    painter.end()
    return image


def test_the_feed_writes_only_new_drawings_and_nothing_without_one(tmp_path):
    current: list[QImage | None] = [None]
    feed = CanvasFeed(lambda: current[0])
    feed.follow(tmp_path)
    assert feed.writes == 0 and not (tmp_path / CANVAS_SKETCH_NAME).exists()
    current[0] = drawing(4)
    assert feed.update_file() and QImage(str(tmp_path / CANVAS_SKETCH_NAME)).size().width() == 64
    assert not feed.update_file()  # the same drawing is not written again
    current[0] = drawing(20)
    assert feed.update_file() and feed.writes == 2
    assert [p.name for p in tmp_path.iterdir()] == [CANVAS_SKETCH_NAME]  # no temp file left
    blank = QImage(64, 64, QImage.Format.Format_RGB32)
    blank.fill(Qt.GlobalColor.white)
    current[0] = blank  # the canvas was cleared: no drawing row any more
    assert not feed.update_file() and not (tmp_path / CANVAS_SKETCH_NAME).exists()
    feed.follow(None)
    current[0] = drawing(30)
    assert not feed.update_file()


def test_the_tab_feeds_the_canvas_to_the_run_it_starts(qtbot, tmp_path, train_tab_env, monkeypatch):
    script = tmp_path / "sleeper.py"
    script.write_text(SLEEPER)
    monkeypatch.setattr(
        child, "trainer_command", lambda args: (sys.executable, [str(script), *args])
    )
    tab = TrainTab(attach_running=False, child_env=train_tab_env)
    qtbot.addWidget(tab)
    tab.set_canvas_source(lambda: drawing(8))
    tab.data_panel.set_spec("openmoji")  # hidden: nothing is rendered
    try:
        assert tab.start_training("canvas")
        assert (tab.run_dir / CANVAS_SKETCH_NAME).is_file()
        assert tab.canvas_feed.run_dir == tab.run_dir
        with qtbot.waitSignal(tab.process.ended, timeout=20_000):
            tab.stop_training()
        assert tab.canvas_feed.run_dir is None
    finally:
        pid = tab.process.pid
        if pid is not None and runs.pid_alive(pid):
            os.kill(pid, getattr(signal, "SIGKILL", signal.SIGTERM))
