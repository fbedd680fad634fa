"""The variations strip: four thumbnails of the sketch at other seeds, on screen for a model
with noise; a click keeps a seed for the picture and the live loop; Ctrl+R rolls new seeds;
the thumbnails wait for the pen to rest and never hold the live picture back."""

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from sketchpad.ui.worker import InferenceService
from tests.window_helpers import FakeEngine, RecordingEngine, draw, hint_stroke, settled


def noisy_window(make_window, engine, show=True):
    return make_window(engine_factory=lambda path, device: engine, model="fake.safetensors",
                       show=show)  # fmt: skip


def thumbnails_done(w) -> bool:
    strip = w.draw_tab.variation_strip
    return all(t.image is not None and not t.stale for t in strip.thumbnails) and (
        w.service.variations_waiting == 0 and not w.service.busy
    )


def strip_ready(make_window, qtbot):
    """A shown window on a noisy fake model, a sketch drawn, its picture and thumbnails in."""
    engine = RecordingEngine()
    w = noisy_window(make_window, engine)
    qtbot.waitExposed(w)
    draw(w)
    qtbot.waitUntil(lambda: settled(w) and thumbnails_done(w), timeout=10_000)
    return w, engine


def test_the_strip_is_on_screen_with_four_different_thumbnails(make_window, qtbot):
    w, engine = strip_ready(make_window, qtbot)
    strip = w.draw_tab.variation_strip
    assert strip.isVisible()
    shot = w.grab().toImage()
    background = w.palette().window().color()
    colours = set()
    for thumb in strip.thumbnails:
        centre = thumb.mapTo(w, thumb.rect().center())
        assert w.rect().contains(centre) and w.childAt(centre) is thumb  # a click lands there
        pixel = shot.pixelColor(centre)
        assert pixel != background and pixel.rgb() != 0xFFFFFFFF
        colours.add(pixel.rgb())
    assert len(colours) == 4  # four seeds, four pictures
    seeds = [r.seed for r in engine.requests[-4:]]
    assert sorted(seeds) == sorted(strip.seeds())
    assert all(r.sketch.sum() > 0 for r in engine.requests[-4:])  # of the sketch drawn
    # the strip does not hide the result: it lies below it
    view = w.result_view
    assert view.mapTo(w, view.rect().bottomLeft()).y() <= strip.mapTo(w, QPoint(0, 0)).y()
    assert view.height() > 3 * strip.height()


def test_clicking_a_thumbnail_keeps_its_seed_for_the_picture_and_the_live_loop(make_window, qtbot):
    engine = RecordingEngine()
    w = noisy_window(make_window, engine)
    qtbot.waitExposed(w)
    hint_stroke(w, (200, 40, 40))
    qtbot.waitUntil(lambda: settled(w) and thumbnails_done(w), timeout=10_000)
    strip = w.draw_tab.variation_strip
    thumb = strip.thumbnails[2]
    assert all(r.hints is not None for r in engine.requests[-4:])  # with the sketch's hints
    qtbot.mouseClick(thumb, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: settled(w))
    assert engine.requests[-1].seed == thumb.seed and thumb.chosen
    assert w.result_view.image() == thumb.image  # the picture is the thumbnail's
    n = len(engine.requests)
    qtbot.wait(500)  # the pen rests, the sketch did not change: no thumbnail is redone
    assert len(engine.requests) == n
    shown = []
    w.frameShown.connect(shown.append)
    draw(w, y=300)
    qtbot.waitUntil(lambda: settled(w))
    assert shown and all(f.job.seed == thumb.seed for f in shown)  # no flicker while drawing


def test_ctrl_r_rolls_new_seeds(make_window, qtbot):
    w, engine = strip_ready(make_window, qtbot)
    strip = w.draw_tab.variation_strip
    old = strip.seeds()
    picture_seed = w.last_frame.job.seed
    w.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w)
    qtbot.keyClick(w.canvas, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    new = strip.seeds()
    assert new != old and len(set(new)) == 4
    qtbot.waitUntil(lambda: thumbnails_done(w), timeout=10_000)
    assert sorted(r.seed for r in engine.requests[-4:]) == sorted(new)
    assert w.last_frame.job.seed == picture_seed  # the picture keeps its seed until a click
    w.draw_tab.variations_button.click()  # the tool bar's New variations rolls too
    assert strip.seeds() != new
    assert w.draw_tab.variations_button.text() == "New variations" == w.variation_action.text()
    tip = "Four new variations of this sketch (Ctrl+R)"
    assert w.draw_tab.variations_button.toolTip() == tip == w.variation_action.toolTip()


def test_a_new_roll_starts_with_the_seed_in_use_framed(make_window, qtbot):
    engine = RecordingEngine()
    w = noisy_window(make_window, engine)
    qtbot.waitExposed(w)
    strip = w.draw_tab.variation_strip
    assert strip.seeds()[0] == w._seed and strip.thumbnails[0].chosen  # from the start
    draw(w)
    qtbot.waitUntil(lambda: settled(w) and thumbnails_done(w), timeout=10_000)
    qtbot.mouseClick(strip.thumbnails[2], Qt.MouseButton.LeftButton)  # keep another seed
    kept = strip.thumbnails[2].seed
    qtbot.waitUntil(lambda: settled(w) and w.last_frame.job.seed == kept)
    w.variation_action.trigger()  # Ctrl+R
    seeds = strip.seeds()
    assert seeds[0] == kept and len(set(seeds)) == 4  # the way back, and three new seeds
    assert [t.chosen for t in strip.thumbnails] == [True, False, False, False]
    first = strip.thumbnails[0]
    assert not first.stale and first.image == w.result_view.image()  # the main picture at once
    qtbot.waitUntil(lambda: thumbnails_done(w), timeout=10_000)
    assert strip.thumbnails[0].chosen and w.last_frame.job.seed == kept


def test_thumbnails_wait_for_the_pen_to_rest(make_window, qtbot):
    engine = RecordingEngine(delay=0.01)
    w = noisy_window(make_window, engine, show=False)
    qtbot.waitUntil(lambda: thumbnails_done(w), timeout=10_000)
    engine.requests.clear()
    c = w.canvas
    from PySide6.QtCore import QPointF

    c.begin_stroke(QPointF(40, 40))
    for i in range(30):
        c.continue_stroke(QPointF(40 + 10 * i, 40 + 5 * (i % 2)))
        qtbot.wait(20)
    assert engine.requests and all(
        r.seed == w._seed for r in engine.requests
    )  # only pictures of the sketch
    c.end_stroke()
    qtbot.waitUntil(lambda: settled(w) and thumbnails_done(w), timeout=10_000)
    seeds = {r.seed for r in engine.requests}  # the picture's, then the thumbnails'
    assert seeds == {w._seed, *w.draw_tab.variation_strip.seeds()} and len(seeds) == 4


def test_a_sketch_jumps_ahead_of_waiting_thumbnails(qtbot):
    engine = RecordingEngine(delay=0.05)
    service = InferenceService(lambda path, device: engine, "cpu")
    try:
        with qtbot.waitSignal(service.modelLoaded, timeout=5000):
            service.load_model("fake.safetensors")
        sketch = QImage(64, 64, QImage.Format.Format_RGB32)
        sketch.fill(0xFFFFFFFF)
        service.submit_variations(sketch, None, [11, 12, 13, 14])
        qtbot.waitUntil(lambda: service.busy)  # the first thumbnail runs
        main = service.submit(sketch, seed=7)
        with qtbot.waitSignal(service.frameReady, timeout=5000) as frame:
            pass
        assert frame.args[0].job.job_id == main
        assert [r.seed for r in engine.requests] == [11, 7]  # one thumbnail at most before it
        qtbot.waitUntil(lambda: len(engine.requests) == 5 and not service.busy)
        assert [r.seed for r in engine.requests[2:]] == [12, 13, 14]
        service.submit_variations(sketch, None, [21, 22, 23, 24])
        service.cancel_variations()  # the sketch changed: the ones not started are dropped
        qtbot.waitUntil(lambda: not service.busy)
        assert len(engine.requests) <= 6 and service.variations_waiting == 0
    finally:
        service.shutdown()


def test_a_model_without_noise_has_no_variations(make_window, qtbot):
    engine = RecordingEngine(takes_noise=False)
    w = noisy_window(make_window, engine)
    qtbot.waitExposed(w)
    strip = w.draw_tab.variation_strip
    assert not w.variation_action.isEnabled()
    assert not any(t.isVisible() for t in strip.thumbnails)
    assert "no noise" in strip.caption.text()
    draw(w)
    qtbot.wait(500)
    qtbot.waitUntil(lambda: settled(w))
    assert {r.seed for r in engine.requests} == {0}  # no thumbnail was asked for
    plain = FakeEngine(0.0)  # neither hints nor noise: the strips go
    w.service._worker._factory = lambda path, device: plain
    with qtbot.waitSignal(w.modelChanged, timeout=5000):
        w.open_model("plain.safetensors")
    assert not strip.isVisible() and not w.draw_tab.hint_row.isVisible()


def test_thumbnail_pixels_are_the_engine_pictures(make_window, qtbot):
    engine = RecordingEngine()
    w = noisy_window(make_window, engine, show=False)
    draw(w)
    qtbot.waitUntil(lambda: settled(w) and thumbnails_done(w), timeout=10_000)
    for thumb in w.draw_tab.variation_strip.thumbnails:
        image = thumb.image.convertToFormat(QImage.Format.Format_RGB888)
        seed = thumb.seed
        expected = (40 + seed * 37 % 180, 60 + seed * 53 % 160, 200 - seed * 29 % 150)
        assert image.pixelColor(1, 1).getRgb()[:3] == expected
