"""The Train tab renders OpenMoji only once it is chosen as the data, off the GUI thread, with
progress; a run's data can be shown again (`set_spec`)."""

from __future__ import annotations

import threading

import pytest

from sketchpad.errors import DataError
from sketchpad.ui.train_data import DataPanel


@pytest.fixture
def opened(monkeypatch):
    """Replaces opening a data source: records (spec, thread), reports progress, then fails."""
    calls: list[tuple[str, threading.Thread]] = []

    def fake_open_source(spec, *, progress=None, **kwargs):
        calls.append((spec, threading.current_thread()))
        if progress is not None:
            progress(1, 2)
        raise DataError("fake data stops here")

    monkeypatch.setattr("sketchpad.data.open_source", fake_open_source)
    return calls


def test_nothing_renders_until_openmoji_is_chosen_then_it_renders_off_thread(qtbot, opened):
    panel = DataPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.refresh_preview()  # what the panel does once shown
    assert panel.wait_idle()
    assert opened == [] and panel.spec() == ""
    assert "Choose what to train on" in panel.info_label.text()

    progress: list[tuple[int, int]] = []
    panel._signals.progress.connect(lambda _t, done, total: progress.append((done, total)))
    panel.set_spec("openmoji")
    qtbot.waitUntil(lambda: panel.error is not None, timeout=10_000)
    assert [spec for spec, _ in opened] == ["openmoji"]
    assert opened[0][1] is not threading.main_thread()
    assert progress == [(1, 2)] and "fake data stops here" in panel.error


def test_a_runs_data_spec_is_shown_again(qtbot, tmp_path):
    panel = DataPanel()
    qtbot.addWidget(panel)
    panel.set_spec(f"photos:{tmp_path}")
    assert panel.source_box.currentData() == "folder" and panel.spec() == f"photos:{tmp_path}"
    panel.set_spec(str(tmp_path))
    assert panel.kind_box.currentData() == "detect" and panel.spec() == str(tmp_path)
    panel.set_spec("openmoji")
    assert panel.spec() == "openmoji" and not panel.folder_edit.isEnabled()
