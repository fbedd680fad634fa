"""The mouse wheel over the settings column scrolls it: a combo or spin box changes with the
wheel only once the user has clicked into it."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QWidget

from sketchpad.ui.train_tab import TrainTab


def wheel(widget: QWidget, notches: int = -1) -> None:
    """`notches` turns of the wheel (negative: towards the user) over the middle of `widget`."""
    centre = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(
        centre,
        QPointF(widget.mapToGlobal(centre.toPoint())),
        QPoint(0, 0),
        QPoint(0, 120 * notches),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


def test_the_wheel_scrolls_past_unfocused_fields_and_changes_a_focused_one(
    qtbot, train_tab_env, monkeypatch
):
    tab = TrainTab(attach_running=False)
    qtbot.addWidget(tab)
    dialogs: list[str] = []
    tab.start_panel.ask_model_file = lambda: dialogs.append("file") or None
    tab.settings_panel.show_advanced(True)
    tab.resize(900, 420)  # the column is taller than this: it scrolls
    tab.show()
    qtbot.waitExposed(tab)
    bar = tab.setup.verticalScrollBar()
    assert bar.maximum() > 0 and bar.value() == 0

    combo = tab.start_panel.combo
    choice = combo.currentData()
    for _ in range(6):  # over "Starting point": past "A model file…" and beyond
        wheel(combo)
    assert combo.currentData() == choice and dialogs == []
    assert bar.value() > 0  # the panel scrolled instead

    steps = tab.settings_panel.steps
    before, scrolled = steps.value(), bar.value()
    wheel(steps)
    assert steps.value() == before and bar.value() > scrolled

    steps.setFocus()
    qtbot.waitUntil(steps.hasFocus, timeout=2_000)
    wheel(steps, notches=1)
    assert steps.value() == before + steps.singleStep()  # clicked into: the wheel is its own
