"""Help: the first-run tip, the shortcuts dialog (built from the window's actions), About,
Help ▸ Examples; and the status bar's elided messages."""

from __future__ import annotations

from PIL import Image
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication

from sketchpad import __version__
from sketchpad.ui.help import FIRST_RUN_TIP, GESTURES, shortcut_rows
from tests.window_helpers import FakeEngine, draw


def test_the_first_run_tip_shows_until_the_first_stroke(make_window, qtbot):
    w = make_window(show=True)
    assert w.status.currentMessage() == FIRST_RUN_TIP
    w.show_status("Saved somewhere", 50)
    assert w.status.currentMessage() == "Saved somewhere"
    qtbot.waitUntil(lambda: w.status.currentMessage() == FIRST_RUN_TIP, timeout=5000)
    draw(w)
    assert w.status.currentMessage() == ""


def test_f1_lists_every_shortcut_even_one_added_later(make_window, qtbot):
    from window_helpers import draw

    w = make_window(show=True)
    draw(w)  # Undo's text is now "Undo Stroke": the list still says "Undo"
    late = QAction("&Flip the canvas…", w.draw_tab, shortcut=QKeySequence("Ctrl+Shift+F"))
    w.draw_tab.addAction(late)
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w)
    qtbot.keyClick(w.canvas, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: w.shortcuts_dialog is not None and w.shortcuts_dialog.isVisible())
    dialog = w.shortcuts_dialog
    table = dialog.keys_table
    listed = {table.item(r, 1).text(): table.item(r, 0).text() for r in range(table.rowCount())}
    assert listed["Flip the canvas"] == QKeySequence("Ctrl+Shift+F").toString(
        QKeySequence.SequenceFormat.NativeText
    )
    assert listed["Keyboard shortcuts"] == "F1"
    assert "Ctrl+Z" in listed["Undo"] and "Ctrl+Y" in listed["Redo"]
    assert listed["Brush"] == "B" and "Clear" in listed
    assert len(listed) == len(shortcut_rows(w)) and len(set(listed.values())) == len(listed)
    assert any("wheel" in g for g, _ in GESTURES) and any("Right" in g for g, _ in GESTURES)


def test_about_shows_the_version_the_model_and_the_device(make_window):
    engine = FakeEngine(name="fake")
    w = make_window(engine_factory=lambda path, device: engine, model="fake.safetensors")
    w.show_about()
    text = w.about_dialog.label.text()
    assert f"Sketchpad {__version__}" in text
    assert w.model.name in text and "Fake CPU" in text
    for credit in ("SketchyGAN", "SAGAN", "pix2pixHD", "OpenMoji", "CC BY-SA 4.0", "PySide6"):
        assert credit in text


def test_about_names_the_default_models_card(make_window):
    from sketchpad.paths import default_model_path

    w = make_window(model=str(default_model_path()))
    w.show_about()
    text = w.about_dialog.label.text()
    assert "Sketchpad default (OpenMoji)" in text and "MODEL_CARD.md" in text
    assert "MRU generator" in text  # the description in the model file


def test_help_examples_lists_the_example_sketches(make_window, tmp_path):
    (tmp_path / "examples").mkdir()
    Image.new("L", (32, 32), 255).save(tmp_path / "examples" / "a_house.png")
    w = make_window()
    menu = w.help_examples_menu
    menu.aboutToShow.emit()
    assert [a.text() for a in menu.actions()] == ["A house"]
    menu.actions()[0].trigger()
    assert "a_house.png" in w.status.currentMessage()


def test_a_long_status_message_is_elided_with_the_whole_text_in_its_tooltip(make_window, qtbot):
    w = make_window(show=True)
    long = "Could not open a model file with a very long name " + "and more words " * 30
    w.show_status(long)
    label = w.status.message_label
    QApplication.processEvents()
    assert label.text().endswith("…") and len(label.text()) < len(long)
    assert label.toolTip() == " ".join(long.split()) == w.status.currentMessage()
    w.show_status("Short")
    assert label.text() == "Short" and label.toolTip() == ""


def test_every_row_of_the_shortcuts_dialog_shows_whole(make_window, qtbot):
    w = make_window(show=True)
    w.show_shortcuts()
    dialog = w.shortcuts_dialog
    qtbot.waitExposed(dialog)
    for table in (dialog.keys_table, dialog.mouse_table):
        for column in range(table.columnCount()):
            assert table.columnWidth(column) >= table.sizeHintForColumn(column)  # nothing elided
    gestures = [dialog.mouse_table.item(r, 0).text() for r in range(len(GESTURES))]
    assert "Alt + click on the canvas or the picture" in gestures
