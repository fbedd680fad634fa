import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture
def make_window(qtbot, tmp_path, monkeypatch):
    """A MainWindow factory: settings, user data, examples and the (absent) default model in
    tmp_path; error dialogs collected in `w.errors`; every window shut down after the test.
    `make(model=None, engine_factory=None, show=False)` starts `model` when given (waiting for
    its first frame); `show` opens the window at 900 × 520 first."""
    from PySide6.QtCore import QSettings

    from sketchpad.ui.main_window import MainWindow

    monkeypatch.setenv("SKETCHPAD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(
        "sketchpad.ui.main_window.default_model_path", lambda: tmp_path / "absent.safetensors"
    )
    monkeypatch.setattr("sketchpad.ui.main_window.examples_dir", lambda: tmp_path / "examples")
    windows = []

    def make(model=None, engine_factory=None, show=False):
        settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
        w = MainWindow(settings=settings, engine_factory=engine_factory, device="cpu")
        w.errors = []
        w.show_error = lambda title, text: w.errors.append((title, text))
        w.ask_save_changes = lambda: "discard"
        qtbot.addWidget(w)
        if show:
            w.resize(900, 520)
            w.show()
        windows.append(w)
        if model is not None:
            with qtbot.waitSignal(w.frameShown, timeout=10_000):
                w.start(model)
        return w

    yield make
    for w in windows:
        w.shutdown()
