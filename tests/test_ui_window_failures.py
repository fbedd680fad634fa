"""The main window when things go wrong: jobs and model loads that fail any way, hostile model
files, a bad model asked for at start, devices that fall back. Settings and user data live in
tmp_path."""

import pytest
from conftest import save_tiny_model

from sketchpad.ui.main_window import MainWindow
from sketchpad.ui.settings import AppSettings
from tests.window_helpers import D_CFG, G_CFG, FakeEngine, draw, settled


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    return save_tiny_model(tmp_path_factory.mktemp("models") / "tiny.safetensors", G_CFG, D_CFG)


class FailingOnceEngine(FakeEngine):
    """A fake engine whose first run fails as `error` does (out of memory), then works."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(delay=0.0)
        self.error: BaseException | None = error

    def run(self, request):
        if self.error is not None:
            error, self.error = self.error, None
            raise error
        return super().run(request)


@pytest.mark.parametrize(
    "error", [MemoryError(), RuntimeError("DefaultCPUAllocator: not enough memory"), KeyError(3)]
)
def test_a_job_that_fails_any_way_is_reported_and_the_next_sketch_gets_a_frame(
    make_window, qtbot, error
):
    engine = FailingOnceEngine(error)
    w = make_window(engine_factory=lambda path, device: engine)
    with qtbot.waitSignal(w.service.jobFailed, timeout=5000) as failed:
        w.start("fake.safetensors")
    assert "generation failed" in failed.args[1]
    assert "generation failed" in w.statusBar().currentMessage()
    qtbot.waitUntil(lambda: not w.service.busy, timeout=5000)
    with qtbot.waitSignal(w.frameShown, timeout=5000):
        draw(w)
    qtbot.waitUntil(lambda: settled(w), timeout=5000)


def test_out_of_memory_says_so(make_window, qtbot):
    w = make_window(engine_factory=lambda path, device: FailingOnceEngine(MemoryError()))
    with qtbot.waitSignal(w.service.jobFailed, timeout=5000) as failed:
        w.start("fake.safetensors")
    assert "out of memory" in failed.args[1]


def test_a_model_that_fails_to_load_any_way_is_reported_and_the_next_one_loads(make_window, qtbot):
    def factory(path, device):
        if path == "huge.safetensors":
            raise MemoryError()
        return FakeEngine(0.0, name=path)

    w = make_window(engine_factory=factory, model="first.safetensors")
    w.ask_model_path = lambda: "huge.safetensors"
    w.open_model_dialog()
    qtbot.waitUntil(lambda: bool(w.errors), timeout=5000)
    assert "out of memory" in w.errors[0][1] and "first.safetensors stays loaded" in w.errors[0][1]
    with qtbot.waitSignal(w.frameShown, timeout=5000):
        draw(w)
    with qtbot.waitSignal(w.modelChanged, timeout=5000):
        w.open_model("second.safetensors")
    assert w.model.name == "second.safetensors"
    qtbot.waitUntil(lambda: settled(w), timeout=5000)


def _hostile_copy(src: str, dst, **generator) -> str:
    """`src` with its generator metadata changed (`generator` fields), at `dst`."""
    import json

    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(src, framework="pt") as f:
        header = dict(f.metadata())
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open)
    meta = json.loads(header["sketchpad"])
    meta["generator"].update(generator)
    header["sketchpad"] = json.dumps(meta)
    save_file(tensors, str(dst), metadata=header)
    return str(dst)


@pytest.mark.parametrize("field", ["resolution", "max_width", "folder"])
def test_a_hostile_model_is_refused_in_the_app_and_the_old_one_keeps_drawing(
    make_window, model_file, qtbot, tmp_path, field
):
    if field == "folder":
        bad, named = str(tmp_path), "is a folder"
    else:
        value = {"resolution": 1048576, "max_width": 100000}[field]
        bad = _hostile_copy(model_file, tmp_path / "hostile.safetensors", **{field: value})
        named = f"GeneratorConfig.{field}"
    w = make_window(model=model_file)
    w.ask_model_path = lambda: bad
    w.open_model_dialog()
    qtbot.waitUntil(lambda: bool(w.errors), timeout=10_000)
    title, text = w.errors[0]
    assert title == "Cannot open model" and named in text and "tiny stays loaded" in text
    assert not w.service.busy and w.model.path == model_file
    with qtbot.waitSignal(w.frameShown, timeout=10_000):
        draw(w)


def test_a_bad_model_asked_for_falls_back_to_the_last_one_then_the_default(
    make_window, model_file, qtbot, tmp_path
):
    """`sketchpad --model=BAD`: the error, and the last model used (else the default) runs."""
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a model")
    default = save_tiny_model(tmp_path / "absent.safetensors", G_CFG, D_CFG, name="default")
    w = make_window()
    with qtbot.waitSignal(w.frameShown, timeout=10_000):
        w.start(str(bad))
    assert w.model.path == default and "default" in w.model_label.text()
    ((title, text),) = w.errors
    assert title == "Cannot open model" and "bad.safetensors" in text
    assert "Using default instead." in text
    message = w.statusBar().currentMessage()
    assert "bad.safetensors" in message and "Using default instead" in message

    w.settings.last_model = model_file  # the last model used comes before the default
    again = make_window()
    with qtbot.waitSignal(again.frameShown, timeout=10_000):
        again.start(str(tmp_path))  # a folder
    assert again.model.path == model_file
    assert "is a folder" in again.errors[0][1] and "Using tiny instead" in again.errors[0][1]


def test_when_no_model_loads_at_start_the_window_says_why(make_window, qtbot, tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a model")
    w = make_window()
    with qtbot.waitSignal(w.noModel, timeout=10_000) as blocker:
        w.start(str(bad))
    assert "bad.safetensors" in blocker.args[0] and w.model is None
    assert "bad.safetensors" in w.errors[0][1]
    nothing = make_window()
    with qtbot.waitSignal(nothing.noModel, timeout=1000):
        nothing.start()  # nothing to open at all


@pytest.fixture
def failing_gpu(monkeypatch):
    """Model ▸ Device offers CUDA (a GPU is there) although it fails when used."""
    monkeypatch.setattr("sketchpad.ui.menus.device_unavailable", lambda key: None)


def _switch(w: MainWindow, qtbot, device: str) -> None:
    with qtbot.waitSignal(w.service.deviceChanged, timeout=5000):
        w.device_actions[device].trigger()


def test_a_device_that_falls_back_is_not_the_next_starts_device(make_window, qtbot, failing_gpu):
    engine = FakeEngine(delay=0.0)
    w = make_window(engine_factory=lambda path, device: engine, model="fake.safetensors")
    _switch(w, qtbot, "cuda")  # falls back to the CPU: the choice that ran (CPU) stays
    assert "fallback" in w.device_label.text() and w.device_actions["cuda"].isChecked()
    w.close()
    again = make_window(engine_factory=lambda path, device: FakeEngine(0.0), model="fake")
    assert again.settings.device == "cpu"
    _switch(again, qtbot, "auto")  # runs: remembered at once
    assert again.settings.device == "auto"
    _switch(again, qtbot, "cuda")
    assert again.settings.device == "auto"
    again.close()
    assert AppSettings(again.settings.store).device == "auto"


def test_a_start_device_that_falls_back_is_replaced_by_auto(qtbot, tmp_path, monkeypatch):
    """Started on CUDA (saved, or `--device cuda`) where it falls back: the next start asks
    for "auto", which finds CUDA again when it works."""
    from PySide6.QtCore import QSettings

    monkeypatch.setenv("SKETCHPAD_DATA_DIR", str(tmp_path / "data"))
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    settings.setValue("device", "cuda")

    def factory(path, device):
        engine = FakeEngine(0.0)
        engine.set_device(device)
        return engine

    w = MainWindow(settings=settings, engine_factory=factory)
    w.ask_save_changes = lambda: "discard"
    qtbot.addWidget(w)
    try:
        with qtbot.waitSignal(w.frameShown, timeout=5000):
            w.start("fake.safetensors")
        assert "fallback" in w.device_label.text()
        assert w.settings.device == "auto"
        w.close()
        assert AppSettings(settings).device == "auto"
    finally:
        w.shutdown()
