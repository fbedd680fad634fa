"""Several app instances, each with its own autosave slot: a running instance's sketch is
never offered to another nor deleted by it; the sketch of an instance that is gone (crashed,
killed) is offered once, and its files removed only by the instance that took its slot over.

In one process, documents whose autosaves hold their own `SlotClaim` act as two instances;
a real second process holds a slot in the last tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QColor, QImage, QPainter, QPen, QUndoStack

from sketchpad.autosave_slots import LEGACY_NAME, SlotClaim
from sketchpad.paths import autosave_dir, user_data_dir
from sketchpad.ui.autosave import Autosave
from sketchpad.ui.canvas import SketchCanvas
from sketchpad.ui.document import SketchDocument
from sketchpad.ui.settings import AppSettings

ROOT = Path(__file__).resolve().parent.parent
SIDE = 64


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SKETCHPAD_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


class Host:
    """The window's dialogs, answering `ask_restore` from a list (failing when not expected)."""

    def __init__(self, *answers: bool) -> None:
        self.answers = list(answers)
        self.statuses: list[str] = []
        self.stopped: list[bool] = []

    def ask_restore(self, stopped: bool) -> bool:
        self.stopped.append(stopped)
        if not self.answers:
            pytest.fail("offered a sketch that must not be offered")
        return self.answers.pop(0)

    def show_status(self, text: str, timeout_ms: int = 0) -> None:
        self.statuses.append(text)

    def show_error(self, title: str, text: str) -> None:
        pytest.fail(f"{title}: {text}")

    seed = 7

    def picture_seed(self) -> int:
        return self.seed

    def restore_seed(self, seed: int) -> None:
        self.seed = seed


class Instance:
    """A document with its own canvas and its own autosave slot: one app instance."""

    def __init__(self, qtbot, tmp_path: Path, host: Host, claim: SlotClaim | None = None) -> None:
        self.claim = claim if claim is not None else SlotClaim.claim(autosave_dir())
        self.host = host
        self.undo = QUndoStack()
        self.canvas = SketchCanvas(self.undo, side=SIDE)
        qtbot.addWidget(self.canvas)
        settings = AppSettings(
            QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
        )
        self.document = SketchDocument(
            host, self.canvas, self.undo, settings, autosave=Autosave(self.claim)
        )

    def draw(self, y: int) -> QImage:
        self.canvas.replace_image(drawing(y), "Draw")
        self.document.autosave()
        return self.canvas.image()

    def crash(self) -> None:
        """Gone without closing: the OS lets its lock go, its sketch stays."""
        self.claim.release()


def drawing(y: int) -> QImage:
    image = QImage(SIDE, SIDE, QImage.Format.Format_RGB32)
    image.fill(QColor(255, 255, 255))
    painter = QPainter(image)
    painter.setPen(QPen(QColor(0, 0, 0), 3))
    painter.drawLine(4, y, SIDE - 4, SIDE - y)
    painter.end()
    return image


def test_a_running_instances_sketch_is_neither_offered_nor_deleted(qtbot, tmp_path):
    first = Instance(qtbot, tmp_path, Host())
    sketch = first.draw(10)
    path = first.document.autosave_path
    saved = path.read_bytes()

    second = Instance(qtbot, tmp_path, Host())  # asking would fail the test
    assert second.document.autosave_path != path
    assert not second.document.offer_restore()
    second.draw(40)
    assert second.document.autosave_path.is_file()
    second.document.close()  # on purpose: its own sketch goes, the first one's stays
    assert not second.document.autosave_path.exists()
    assert path.read_bytes() == saved

    first.crash()
    third = Instance(qtbot, tmp_path, Host(True))
    assert third.document.offer_restore() and not third.host.answers
    assert third.canvas.image() == sketch and third.document.is_unsaved()
    assert not path.exists()  # taken over: the sketch now lives in the third one's slot
    assert (
        QImage(str(third.document.autosave_path)).convertToFormat(QImage.Format.Format_RGB32)
        == sketch
    )

    third.crash()
    fourth = Instance(qtbot, tmp_path, Host(False))  # declined: removed, never offered again
    assert not fourth.document.offer_restore() and not fourth.host.answers
    assert not third.document.autosave_path.exists()
    assert not Instance(qtbot, tmp_path, Host()).document.offer_restore()


def test_sketches_of_several_gone_instances_are_offered_newest_first(qtbot, tmp_path):
    old, new = Instance(qtbot, tmp_path, Host()), Instance(qtbot, tmp_path, Host())
    old.draw(10)
    os.utime(old.document.autosave_path, (1_000, 1_000))
    newest = new.draw(30)
    old.crash()
    new.crash()
    survivor = Instance(qtbot, tmp_path, Host(True))
    assert survivor.document.offer_restore() and survivor.canvas.image() == newest
    assert old.document.autosave_path.is_file()  # not answered yet: kept for the next start
    later = Instance(qtbot, tmp_path, Host(False))
    assert not later.document.offer_restore()
    assert not old.document.autosave_path.exists()


def test_the_single_autosave_of_older_versions_is_offered_once(qtbot, tmp_path):
    legacy = user_data_dir() / LEGACY_NAME
    drawing(20).save(str(legacy))
    first = Instance(qtbot, tmp_path, Host(True))
    assert first.document.offer_restore() and first.canvas.image() == drawing(20)
    assert not legacy.exists() and first.document.autosave_path.is_file()
    drawing(20).save(str(legacy))
    assert not Instance(qtbot, tmp_path, Host(False)).document.offer_restore()
    assert not legacy.exists()
    assert not Instance(qtbot, tmp_path, Host()).document.offer_restore()


# -- a real second process --------------------------------------------------------------------

OTHER_INSTANCE = """
import sys, time
from PySide6.QtGui import QColor, QGuiApplication, QImage
app = QGuiApplication([])
from sketchpad.ui.autosave import Autosave
image = QImage(64, 64, QImage.Format.Format_RGB32)
image.fill(QColor(255, 255, 255))
image.setPixelColor(5, 7, QColor(0, 0, 0))
autosave = Autosave()  # this process's slot, as the app's window has it
autosave.write(image)
print(autosave.path.name, flush=True)
time.sleep(120)
"""


@pytest.fixture
def other_instance(data_dir):
    """Another app process that has drawn a sketch and keeps running; yields (process, path)."""
    env = dict(os.environ, SKETCHPAD_DATA_DIR=str(data_dir), QT_QPA_PLATFORM="offscreen")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(OTHER_INSTANCE)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        name = proc.stdout.readline().strip()
        assert name, "the other instance did not start"
        yield proc, autosave_dir() / name
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()


@pytest.mark.slow
def test_another_live_process_keeps_its_sketch_and_a_killed_ones_is_offered(
    qtbot, tmp_path, other_instance
):
    proc, theirs = other_instance
    saved = theirs.read_bytes()
    mine = Instance(qtbot, tmp_path, Host(), claim=None)
    assert not mine.document.offer_restore()  # not asked: that process is running
    mine.draw(10)
    mine.document.close()
    assert theirs.read_bytes() == saved and proc.poll() is None

    proc.send_signal(getattr(signal, "SIGKILL", signal.SIGTERM))
    proc.wait()
    after = Instance(qtbot, tmp_path, Host(True))
    assert after.document.offer_restore()
    assert after.canvas.image().pixelColor(5, 7) == QColor(0, 0, 0)
    assert not theirs.exists() and after.document.autosave_path.is_file()


# -- the app stopped by a signal --------------------------------------------------------------

STOPPED_APP = """
import sys
from PySide6.QtCore import QPointF, QTimer
from PySide6.QtWidgets import QApplication
from sketchpad.ui.app import run_app
from sketchpad.ui.main_window import MainWindow

app = QApplication(sys.argv[:1])


def drawn() -> None:
    window = next(w for w in app.topLevelWidgets() if isinstance(w, MainWindow))
    canvas = window.canvas
    canvas.begin_stroke(QPointF(20, 40))
    canvas.continue_stroke(QPointF(300, 200))
    canvas.end_stroke()
    window.document.autosave()
    print(window.document.autosave_path.name, flush=True)


QTimer.singleShot(300, drawn)
sys.exit(run_app(["--model", sys.argv[1]]))
"""


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "SIGTERM") or os.name != "posix", reason="POSIX signals")
@pytest.mark.parametrize("sig", ["SIGTERM", "SIGINT"])
def test_a_signal_quits_normally_and_the_next_start_says_so(qtbot, tmp_path, data_dir, sig):
    from conftest import save_tiny_model

    from sketchpad.ui.dialogs import restore_question

    model = save_tiny_model(tmp_path / "tiny.safetensors")
    env = dict(os.environ, SKETCHPAD_DATA_DIR=str(data_dir), QT_QPA_PLATFORM="offscreen")
    env["SKETCHPAD_CONFIG_DIR"] = str(tmp_path / "config")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(STOPPED_APP), model],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        name = proc.stdout.readline().strip()
        assert name, proc.stderr.read()
        proc.send_signal(getattr(signal, sig))
        assert proc.wait(timeout=60) == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    kept = autosave_dir() / name
    assert kept.is_file() and kept.with_name(kept.stem + ".stopped").read_text().strip() == sig

    host = Host(True)
    after = Instance(qtbot, tmp_path, host)
    assert after.document.offer_restore() and host.stopped == [True]
    assert not kept.with_name(kept.stem + ".stopped").exists()
    assert "stopped last time" in restore_question(True)
    assert "did not close properly" not in restore_question(True)
    assert "crashed" in restore_question(False)


def test_a_crash_is_offered_as_a_crash(qtbot, tmp_path):
    host = Host(True)
    crashed = Instance(qtbot, tmp_path, Host())
    crashed.draw(10)
    crashed.crash()
    assert Instance(qtbot, tmp_path, host).document.offer_restore()
    assert host.stopped == [False]
