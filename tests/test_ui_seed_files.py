"""The variation the user kept lives with the sketch: a saved PNG or .ora and the autosave keep
its noise seed, and opening or restoring the sketch brings the picture of that seed back."""

import pytest
from PySide6.QtCore import Qt

from tests.window_helpers import RecordingEngine, draw, hint_stroke, settled


def noisy_window(make_window, engine, show=True):
    return make_window(engine_factory=lambda path, device: engine, model="fake.safetensors",
                       show=show)  # fmt: skip


def kept_variation(make_window, qtbot, hinted=False):
    """(engine, window, the seed kept) once a sketch is drawn and its third variation kept."""
    engine = RecordingEngine()
    w = noisy_window(make_window, engine)
    qtbot.waitExposed(w)
    draw(w)
    if hinted:
        hint_stroke(w, (30, 160, 60))
    strip = w.draw_tab.variation_strip
    qtbot.waitUntil(lambda: settled(w) and all(t.image is not None for t in strip.thumbnails),
                    timeout=10_000)  # fmt: skip
    thumb = strip.thumbnails[2]
    qtbot.mouseClick(thumb, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: settled(w))
    assert w.picture_seed() == thumb.seed != 0
    return engine, w, thumb.seed


@pytest.mark.parametrize("suffix,hinted", [(".png", False), (".ora", True)])
def test_a_saved_sketch_opens_with_the_variation_kept(make_window, qtbot, tmp_path, suffix, hinted):
    engine, first, seed = kept_variation(make_window, qtbot, hinted)
    path = tmp_path / f"kept{suffix}"
    first.ask_save_path = lambda title, suggested, name_filter: str(path)
    assert first.document.save() and path.is_file()
    second = noisy_window(make_window, engine)
    qtbot.waitExposed(second)
    qtbot.waitUntil(lambda: settled(second))
    assert second.picture_seed() == 0
    assert second.document.open(path)
    qtbot.waitUntil(lambda: settled(second))
    assert second.picture_seed() == seed
    assert engine.requests[-1].seed == seed  # the picture of the opened sketch is that one
    strip = second.draw_tab.variation_strip
    assert strip.seeds()[0] == seed and strip.thumbnails[0].chosen


def test_a_picture_without_a_seed_keeps_the_seed_in_use(make_window, qtbot, tmp_path):
    from PIL import Image

    engine, w, seed = kept_variation(make_window, qtbot)
    plain = tmp_path / "plain.png"
    Image.new("RGB", (64, 64), "white").save(plain)
    assert w.document.open(plain)
    assert w.picture_seed() == seed


def test_the_autosave_keeps_the_variation_kept(make_window, qtbot):
    from sketchpad.ui.pictures import png_seed

    engine, first, seed = kept_variation(make_window, qtbot, hinted=True)
    path = first.document.autosave_path
    qtbot.waitUntil(lambda: path.exists() and png_seed(path) == seed)  # kept with the click
    second = make_window(engine_factory=lambda path, device: engine)  # after a "crash"
    second.ask_restore = lambda stopped: True
    assert second.offer_restore()
    assert second.picture_seed() == seed
