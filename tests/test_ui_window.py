"""The main window: live generation through the worker thread, newest-request-wins scheduling,
models and devices, files, autosave and restore. Settings and user data live in tmp_path."""

import threading
import time

import numpy as np
import pytest
from conftest import save_tiny_model
from PIL import Image
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QImage

from sketchpad.ui.pictures import qimage_to_tensor
from tests.window_helpers import D_CFG, G_CFG, FakeEngine, R, draw, settled


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    return save_tiny_model(tmp_path_factory.mktemp("models") / "tiny.safetensors", G_CFG, D_CFG)


def test_a_stroke_produces_a_result(make_window, model_file, qtbot):
    w = make_window(model=model_file)
    assert w.windowTitle() == "Sketchpad" and w.tabs.tabText(0) == "Draw" and w.tabs.count() == 1
    assert w.model.name == "tiny" and "tiny" in w.model_label.text()
    assert "CPU" in w.device_label.text()
    draw(w)
    qtbot.waitUntil(lambda: settled(w), timeout=10_000)
    frame = w.last_frame
    assert frame.image.size().width() == R and w.result_view.image() is frame.image
    assert frame.job.sketch == w.canvas.image()
    assert "ms" in w.timing_label.text() and "fps" in w.timing_label.text()
    assert (
        w.draw_tab.variations_widget_action.isVisible()
    )  # this model takes noise (on screen: below)


def test_quick_strokes_run_few_jobs_and_the_last_sketch_wins(make_window, qtbot):
    delay = 0.1
    engine = FakeEngine(delay=delay)
    w = make_window(engine_factory=lambda path, device: engine, model="fake.safetensors")
    engine.calls.clear()
    first_id = w.service.last_job_id
    start = time.perf_counter()
    for i in range(20):
        draw(w, y=20 + 20 * i, steps=3)
        qtbot.wait(2)
    drawing = time.perf_counter() - start
    qtbot.waitUntil(lambda: settled(w), timeout=10_000)
    requests = w.service.last_job_id - first_id
    assert requests >= 80  # every change of the sketch asked for a picture...
    assert len(engine.calls) <= drawing / delay + 2  # ...but one ran at a time, newest first
    assert len(engine.calls) <= requests / 10, engine.calls
    last_id, last_sum = engine.calls[-1]
    assert last_id == w.service.last_job_id == w.last_frame.job.job_id
    expected = float(qimage_to_tensor(w.canvas.image(), R).sum())
    assert last_sum == pytest.approx(expected, rel=1e-6)
    assert threading.get_ident() not in engine.threads  # the GUI thread never ran the model


def test_live_off_waits_for_generate(make_window, qtbot):
    engine = FakeEngine(delay=0.0)
    w = make_window(engine_factory=lambda path, device: engine, model="fake.safetensors")
    w.draw_tab.live_box.setChecked(False)
    qtbot.waitUntil(lambda: settled(w))
    n = len(engine.calls)
    draw(w)
    qtbot.wait(50)
    assert len(engine.calls) == n and w.draw_tab.generate_button.isEnabled()
    w.draw_tab.generate_button.click()
    qtbot.waitUntil(lambda: settled(w) and len(engine.calls) == n + 1)


def test_a_bad_model_file_shows_the_error_and_keeps_the_old_model(
    make_window, model_file, qtbot, tmp_path
):
    w = make_window(model=model_file)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"this is not a model")
    w.ask_model_path = lambda: str(bad)
    w.open_model_dialog()
    qtbot.waitUntil(lambda: bool(w.errors), timeout=10_000)
    title, text = w.errors[0]
    assert title == "Cannot open model" and "bad.safetensors" in text and "tiny" in text
    assert w.model.path == model_file and "tiny" in w.model_label.text()
    with qtbot.waitSignal(w.frameShown, timeout=10_000):
        draw(w)
    assert w.settings.recent_models() == [model_file]


def test_no_model_says_how_to_open_one(make_window):
    w = make_window()
    w.start()
    assert w.model is None and "Open model" in w.result_view.message()
    assert w.generate() is None


def test_failing_device_falls_back_to_cpu_in_the_status_bar(make_window, qtbot, monkeypatch):
    monkeypatch.setattr("sketchpad.ui.menus.device_unavailable", lambda key: None)  # a GPU
    engine = FakeEngine(delay=0.0)
    w = make_window(engine_factory=lambda path, device: engine, model="fake.safetensors")
    with qtbot.waitSignal(w.service.deviceChanged, timeout=5000):
        w.device_actions["cuda"].trigger()
    assert "fallback" in w.device_label.text() and "CPU" in w.device_label.toolTip()
    assert "CPU" in w.statusBar().currentMessage()
    assert w.settings.device != "cuda"  # a device that fell back is not the next start's


def test_autosave_and_restore_round_trip(make_window, qtbot):
    engine = FakeEngine(delay=0.0)
    first = make_window(engine_factory=lambda path, device: engine, model="fake.safetensors")
    draw(first)
    draw(first, y=200)
    path = first.document.autosave_path
    qtbot.waitUntil(path.exists)
    sketch = first.canvas.image()
    # the first window "crashes" (is never closed); the next start offers to restore
    second = make_window(engine_factory=lambda path, device: engine)
    second.ask_restore = lambda stopped: True
    assert second.offer_restore()
    assert second.canvas.image() == sketch and second.document.is_unsaved()
    second.close()  # closing on purpose (the sketch discarded) leaves nothing to restore
    assert not path.exists()
    third = make_window(engine_factory=lambda path, device: engine)
    third.ask_restore = lambda stopped: pytest.fail("nothing to restore")
    assert not third.offer_restore()


def test_quitting_with_an_unsaved_sketch_asks(make_window, qtbot, tmp_path):
    w = make_window(engine_factory=lambda path, device: FakeEngine(0.0))
    w.show()
    draw(w)
    asked = []
    w.ask_save_changes = lambda: asked.append(1) or "cancel"
    assert not w.close() and w.isVisible() and asked
    target = tmp_path / "mine.png"
    w.ask_save_changes = lambda: "save"
    w.ask_save_path = lambda title, suggested, name_filter: str(target)
    assert w.close()
    assert QImage(str(target)).convertToFormat(QImage.Format.Format_RGB32) == w.canvas.image()


def test_open_save_and_export(make_window, qtbot, tmp_path):
    engine = FakeEngine(delay=0.0)
    w = make_window(engine_factory=lambda path, device: engine, model="fake.safetensors")
    drawing = np.full((60, 80, 3), 255, np.uint8)
    drawing[20:24, 10:70] = 0
    Image.fromarray(drawing).save(tmp_path / "drawing.png")
    assert w.document.open(tmp_path / "drawing.png")
    assert not w.canvas.is_blank() and "as a drawing" in w.statusBar().currentMessage()
    qtbot.waitUntil(lambda: settled(w))

    photo = (np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)
    Image.fromarray(photo).save(tmp_path / "photo.jpg")
    assert w.document.open(tmp_path / "photo.jpg")
    assert "photo" in w.statusBar().currentMessage()
    w.undo_stack.undo()

    (tmp_path / "broken.png").write_bytes(b"not a png")
    assert not w.document.open(tmp_path / "broken.png") and "broken.png" in w.errors[-1][1]

    saved, result, pair = (tmp_path / n for n in ("s.png", "r.png", "p.png"))
    w.ask_save_path = lambda title, suggested, name_filter: str(saved)
    assert w.document.save() and w.undo_stack.isClean() and not w.document.is_unsaved()
    assert QImage(str(saved)).convertToFormat(QImage.Format.Format_RGB32) == w.canvas.image()
    qtbot.waitUntil(lambda: settled(w))
    w.ask_save_path = lambda title, suggested, name_filter: str(result)
    offered = []
    w.ask_export_size = lambda native: offered.append(native) or native
    assert w.export_result() and QImage(str(result)).width() == R and offered == [R]
    w.ask_export_size = lambda native: 512
    assert w.export_result() and QImage(str(result)).size().toTuple() == (512, 512)
    assert "512 px" in w.status.currentMessage()
    w.ask_export_size = lambda native: None  # cancelled: nothing asked, nothing written
    w.ask_save_path = lambda title, suggested, name_filter: pytest.fail("not asked")
    assert not w.export_result()
    w.ask_save_path = lambda title, suggested, name_filter: str(pair)
    assert w.export_side_by_side()
    exported = QImage(str(pair))
    assert exported.width() > 2 * exported.height() - 40


def test_examples_menu_and_drop(make_window, qtbot, tmp_path):
    w = make_window(engine_factory=lambda path, device: FakeEngine(0.0))
    w.examples_menu.aboutToShow.emit()
    assert [a.text() for a in w.examples_menu.actions()] == ["(none)"]
    assert not w.examples_menu.actions()[0].isEnabled()
    folder = tmp_path / "examples"
    folder.mkdir()
    drawing = np.full((64, 64), 255, np.uint8)
    drawing[30:34, 8:56] = 0
    Image.fromarray(drawing).save(folder / "a_house.png")
    w.examples_menu.aboutToShow.emit()
    (action,) = w.examples_menu.actions()
    assert action.text() == "A house"
    action.trigger()
    assert not w.canvas.is_blank()

    w.canvas.clear()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder / "a_house.png"))])
    event = QDropEvent(
        QPointF(50, 50),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    w.canvas.dropEvent(event)
    assert not w.canvas.is_blank() and w.undo_stack.count() == 3


def test_settings_persist(make_window, tmp_path):
    w = make_window(engine_factory=lambda path, device: FakeEngine(0.0))
    w.canvas.set_brush_size(17)
    w.draw_tab.live_box.setChecked(False)
    w.close()
    again = make_window(engine_factory=lambda path, device: FakeEngine(0.0))
    assert again.canvas.brush_size == 17 and not again.draw_tab.live
    assert again.settings.device == "cpu"


def test_add_tab(make_window):
    from PySide6.QtWidgets import QLabel

    w = make_window(engine_factory=lambda path, device: FakeEngine(0.0))
    assert w.add_tab(QLabel("train"), "Train") == 1 and w.tabs.tabText(1) == "Train"


def test_verdicts_and_attention_reach_the_window(make_window, model_file, qtbot):
    w = make_window(model=model_file)
    w.want_verdicts, w.probe = True, (0.5, 0.5)
    with qtbot.waitSignal(w.frameShown, timeout=10_000) as blocker:
        draw(w)
    qtbot.waitUntil(lambda: settled(w), timeout=10_000)
    result = w.last_frame.result
    assert [label for label, _ in result.verdicts] and result.verdicts[0][1].ndim == 2
    assert result.attention and all(abs(a.sum() - 1) < 1e-2 for a in result.attention.values())
    assert blocker.args[0].job.want_verdicts


def test_train_tab_is_wired_into_the_window(make_window, model_file, qtbot):
    from sketchpad.ui.app import attach_train_tab

    w = make_window(model=model_file)
    tab = attach_train_tab(w)
    assert w.tabs.tabText(w.tabs.indexOf(tab)) == "Train"
    assert tab.current_model_path_provider() == model_file  # "current model" follows the canvas
    assert w._close_guards == [tab.confirm_close] and w._shutdown_hooks == [tab.shutdown]
    w.show()
    w.add_close_guard(lambda: False)  # e.g. a running trainer the user chose not to leave
    w.close()
    assert w.isVisible()  # a guard kept the window open


def _example(tmp_path):
    folder = tmp_path / "examples"
    folder.mkdir(exist_ok=True)
    drawing = np.full((64, 64), 255, np.uint8)
    drawing[30:34, 8:56] = 0
    Image.fromarray(drawing).save(folder / "a_house.png")
    return folder / "a_house.png"


def test_opening_over_a_drawing_says_ctrl_z_brings_it_back(make_window, tmp_path):
    w = make_window(engine_factory=lambda path, device: FakeEngine(0.0))
    example = _example(tmp_path)
    w.document.open(example)
    assert "Ctrl+Z" not in w.status.currentMessage()  # nothing was replaced
    w.canvas.clear()
    draw(w)
    mine = w.canvas.image().copy()
    w.document.open(example)
    assert w.status.currentMessage().startswith("Opened a_house.png")
    assert "Ctrl+Z brings back your drawing" in w.status.currentMessage()
    w.undo_action.trigger()
    assert w.canvas.image() == mine


def test_new_asks_only_about_the_users_own_work(make_window, tmp_path):
    w = make_window(engine_factory=lambda path, device: FakeEngine(0.0))
    asked = []
    w.ask_save_changes = lambda: asked.append(True) or "cancel"
    w.document.open(_example(tmp_path))
    w.new_action.trigger()  # an untouched example: nothing to lose
    assert asked == [] and w.canvas.is_blank()
    w.document.open(_example(tmp_path))
    draw(w)
    w.new_action.trigger()  # drawn on: asked, and "cancel" keeps it
    assert asked == [True] and not w.canvas.is_blank()
    w.undo_action.trigger()  # back to the example as opened: nothing to lose again
    w.new_action.trigger()
    assert asked == [True] and w.canvas.is_blank()


def test_clear_has_a_shortcut(make_window):
    w = make_window()
    assert w.clear_action.shortcut().toString() == "Ctrl+Del"
    draw(w)
    w.clear_action.trigger()
    assert w.canvas.is_blank()


def test_cuda_is_greyed_without_cuda_and_says_why(make_window, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    w = make_window()
    cuda = w.device_actions["cuda"]
    assert not cuda.isEnabled() and "CPU" in cuda.toolTip() and "--" not in cuda.toolTip()
    assert w.device_actions["cpu"].isEnabled() and w.device_actions["auto"].isEnabled()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert make_window().device_actions["cuda"].isEnabled()


def test_export_offers_the_upscaled_size_first_and_says_so():
    from sketchpad.ui.dialogs import export_sizes

    (big, big_text), (own, own_text) = export_sizes(128, 512)
    assert (big, own) == (512, 128)
    assert "upscaled from 128 px" in big_text and "model's own" in own_text
    assert export_sizes(512, 512) == [(512, "512 × 512 px (the model's own size)")]


def test_save_dialogs_never_suggest_the_examples_folder(make_window, monkeypatch, tmp_path):
    from sketchpad.paths import assets_dir

    w = make_window()
    offered = []
    monkeypatch.setattr(
        "sketchpad.ui.dialogs.ask_save_path",
        lambda parent, title, folder, suggested, name_filter: offered.append(folder),
    )
    w.settings.last_folder = str(assets_dir() / "examples")
    w.ask_save_path("Export result", "cat-result.png", "PNG (*.png)")
    w.settings.last_folder = str(tmp_path)
    w.ask_save_path("Export result", "cat-result.png", "PNG (*.png)")
    assert offered[0] and "assets" not in offered[0] and offered[1] == str(tmp_path)


def test_sketch_dialogs_start_where_sketches_went_and_the_model_dialog_where_models_are(
    make_window, monkeypatch, tmp_path
):
    models, sketches = tmp_path / "models", tmp_path / "sketches"
    models.mkdir(), sketches.mkdir()
    engine = FakeEngine(0.0)
    w = make_window(engine_factory=lambda path, device: engine)
    opened, saved = [], []

    def ask_open(parent, title, folder, name_filter):
        opened.append(folder)
        return str(models / "m.safetensors") if title == "Open model" else None

    def ask_save(parent, title, folder, suggested, name_filter):
        saved.append(folder)
        return str(sketches / suggested)

    monkeypatch.setattr("sketchpad.ui.dialogs.ask_open_path", ask_open)
    monkeypatch.setattr("sketchpad.ui.dialogs.ask_save_path", ask_save)
    draw(w)
    assert w.document.save_as() and (sketches / "sketch.png").is_file()
    w.open_model_dialog()  # from folder A ...
    w.open_model_dialog()
    assert opened[1] == str(models)  # ... the model dialog goes back there
    assert w.document.save_as()
    assert saved[1] == str(sketches)  # the sketch dialog starts where the sketch was saved
    w.document.open_dialog()
    assert opened[2] == str(sketches)


def test_the_variations_button_is_on_screen_for_a_model_with_noise(make_window, qtbot, tmp_path):
    from conftest import save_tiny_model

    from models import GeneratorConfig

    noisy = GeneratorConfig(resolution=32, base_width=4, max_width=8, depth=3, noise_channels=2)
    w = make_window(save_tiny_model(tmp_path / "noisy.safetensors", noisy), show=True)
    qtbot.waitExposed(w)
    button = w.draw_tab.variations_button
    assert button.isVisible()  # shown on screen, not only "visible to" its parent
    corner = button.mapTo(w, button.rect().center())
    assert w.childAt(corner) is button  # what a click there reaches
    plain = GeneratorConfig(resolution=32, base_width=4, max_width=8, depth=3, noise_channels=0)
    with qtbot.waitSignal(w.modelChanged, timeout=10_000):
        w.open_model(save_tiny_model(tmp_path / "plain.safetensors", plain))
    assert not w.model.takes_noise
    qtbot.waitUntil(lambda: not button.isVisible(), timeout=2_000)  # no variations


def test_fit_small_drawings_is_on_by_default_says_so_and_persists(make_window, model_file, qtbot):
    w = make_window(model=model_file)
    assert w.fit_action.isChecked() and w.service.fit_to_frame
    assert w.fit_action in w.menuBar().actions()[3].menu().actions()  # Model ▸
    draw(w, y=60.0, x0=40.0, x1=120.0, steps=3)  # a small scribble, top left
    qtbot.waitUntil(lambda: settled(w), timeout=10_000)
    result = w.last_frame.result
    assert w.last_frame.job.frame and result.frame is not None and result.frame.zoom > 1.3
    assert "enlarged" in w.timing_label.text()
    w.fit_action.setChecked(False)  # painted as drawn, at once
    qtbot.waitUntil(lambda: settled(w) and not w.last_frame.job.frame, timeout=10_000)
    assert w.last_frame.result.frame is None and "enlarged" not in w.timing_label.text()
    w.close()
    again = make_window(model=model_file)
    assert not again.fit_action.isChecked() and not again.service.fit_to_frame
