"""A model without hint inputs: the empty canvas does not offer colour hints, H says why it does
nothing, and hints already on the sketch are said (once) to be kept but not used."""

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from sketchpad.ui.hint_tools import NO_HINTS_TIP
from sketchpad.ui.live import IGNORED_HINTS_NOTE
from tests.window_helpers import RecordingEngine, draw, hint_stroke, settled


def window_with(make_window, engine, show=False):
    return make_window(engine_factory=lambda path, device: engine, model="fake.safetensors",
                       show=show)  # fmt: skip


def test_the_empty_canvas_mentions_colour_hints_only_when_the_model_takes_them(make_window):
    plain = window_with(make_window, RecordingEngine(takes_hints=False))
    assert plain.canvas.showing_hint
    lines = " ".join(plain.canvas.empty_hint_lines())
    assert "colour" not in lines.lower() and "V verdicts" in lines
    hinted = window_with(make_window, RecordingEngine())
    assert "H colour hints" in " ".join(hinted.canvas.empty_hint_lines())


def test_h_says_why_there_are_no_colour_hints(make_window, qtbot):
    w = window_with(make_window, RecordingEngine(takes_hints=False), show=True)
    qtbot.waitExposed(w)
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w)
    w.show_status("")
    qtbot.keyClick(w.canvas, Qt.Key.Key_H)
    message = w.status.currentMessage()
    assert message.startswith("Colour hints (H) unavailable") and "no colour-hint inputs" in message
    assert NO_HINTS_TIP.split(";")[1].strip() in message  # the greyed tool's reason
    assert w.canvas.tool != "colour"


def test_h_still_picks_the_colour_tool_for_a_model_with_hints(make_window, qtbot):
    w = window_with(make_window, RecordingEngine(), show=True)
    qtbot.waitExposed(w)
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w)
    qtbot.keyClick(w.canvas, Qt.Key.Key_H)
    assert w.canvas.tool == "colour" and "unavailable" not in w.status.currentMessage()


def test_a_restored_hinted_sketch_says_once_that_the_model_ignores_its_hints(make_window, qtbot):
    first = window_with(make_window, RecordingEngine())
    draw(first)
    hint_stroke(first, (200, 120, 10))
    path = first.document.autosave_path
    qtbot.waitUntil(path.with_name(path.stem + ".hints.png").exists)
    second = window_with(make_window, RecordingEngine(takes_hints=False))  # after a "crash"
    second.ask_restore = lambda stopped: True
    assert second.offer_restore()
    qtbot.waitUntil(lambda: IGNORED_HINTS_NOTE in second.status.currentMessage())
    assert second.status.currentMessage().startswith("Restored the autosaved sketch")
    second.show_status("something else")
    draw(second, y=300)  # more edits: said once is enough
    qtbot.waitUntil(lambda: settled(second))
    assert second.status.currentMessage() == "something else"
    second.draw_tab.hints.show_action.trigger()  # hidden hints are not ignored ones
    assert not second.hints_ignored()


def test_loading_a_model_without_hint_inputs_says_the_hints_are_not_used(make_window, qtbot):
    w = window_with(make_window, RecordingEngine())
    hint_stroke(w, (200, 30, 30))
    qtbot.waitUntil(lambda: settled(w))
    assert IGNORED_HINTS_NOTE not in w.status.currentMessage()
    plain = RecordingEngine(takes_hints=False)
    w.service._worker._factory = lambda path, device: plain
    with qtbot.waitSignal(w.modelChanged, timeout=5000):
        w.open_model("plain.safetensors")
    message = w.status.currentMessage()
    assert message.startswith("Model") and message.endswith(IGNORED_HINTS_NOTE)
