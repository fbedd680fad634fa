"""The inference worker with a remote generator: it switches to the server, falls back to the
local model when the connection drops (the frame still comes), reconnects in the background
and switches back when asked."""

import pytest
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from remote_helpers import TOKEN, ThreadedServer
from window_helpers import FakeEngine

from sketchpad.ui import remote_link
from sketchpad.ui.remote_link import default_remote_factory
from sketchpad.ui.worker import InferenceService


def snapshot() -> QImage:
    img = QImage(64, 64, QImage.Format.Format_Grayscale8)
    img.fill(255)
    p = QPainter(img)
    p.setPen(QPen(QColor(0, 0, 0), 3))
    p.drawLine(10, 10, 50, 50)
    p.end()
    return img


@pytest.fixture
def service(qtbot):
    local = FakeEngine(delay=0.0, name="local fake")
    made = []

    def remote_factory(url, token):
        made.append(url)
        return default_remote_factory(url, token)

    s = InferenceService(lambda path, device: local, "cpu", remote_factory=remote_factory)
    s.made = made
    with qtbot.waitSignal(s.modelLoaded, timeout=5000):
        s.load_model("local.safetensors")
    yield s
    s.shutdown()


def frame_for(qtbot, service):
    with qtbot.waitSignal(service.frameReady, timeout=10000) as got:
        service.submit(snapshot(), seed=0)
    return got.args[0]


def test_remote_frames_then_fallback_then_back(qtbot, service, monkeypatch):
    monkeypatch.setattr(remote_link, "RECONNECT_INTERVAL_MS", 50)
    server = ThreadedServer()
    port = server.port
    with qtbot.waitSignal(service.modelLoaded, timeout=10000) as loaded:
        service.connect_remote(server.url, TOKEN)
    assert loaded.args[0].remote == server.url and loaded.args[0].name == "tiny remote"
    frame = frame_for(qtbot, service)
    assert frame.device_text.startswith("Remote: 127.0.0.1") and frame.image.width() == 32

    server.stop()  # the server goes away
    frames = []
    service.frameReady.connect(frames.append)
    with qtbot.waitSignal(service.remoteLost, timeout=10000) as lost:
        service.submit(snapshot(), seed=0)
    assert lost.args[0] == server.url and "127.0.0.1" in lost.args[1]
    qtbot.waitUntil(lambda: len(frames) == 1, timeout=10000)
    assert frames[0].device_text == "Fake CPU"  # the local model answered the sketch
    service.frameReady.disconnect(frames.append)

    again = ThreadedServer(port=port)  # back, on the same port
    try:
        with qtbot.waitSignal(service.remoteBack, timeout=10000) as back:
            pass
        assert back.args[0] == server.url
        assert frame_for(qtbot, service).device_text == "Fake CPU"  # not before it is asked
        with qtbot.waitSignal(service.modelLoaded, timeout=10000):
            service.connect_remote(server.url, TOKEN)
        assert frame_for(qtbot, service).device_text.startswith("Remote:")
        with qtbot.waitSignal(service.modelLoaded, timeout=10000) as local:
            service.use_local()
        assert local.args[0].remote == "" and local.args[0].name == "local fake"
    finally:
        again.stop()


def test_a_failed_connection_keeps_the_local_model(qtbot, service):
    with qtbot.waitSignal(service.remoteFailed, timeout=10000) as failed:
        service.connect_remote("ws://127.0.0.1:9", TOKEN)
    assert "cannot reach" in failed.args[1]
    assert frame_for(qtbot, service).device_text == "Fake CPU"
    with qtbot.waitSignal(service.remoteFailed, timeout=10000) as failed:
        service.connect_remote("not a url", TOKEN)
    assert "ws://HOST:PORT" in failed.args[1]


def test_the_window_uses_a_server_and_falls_back_when_it_goes_away(
    qtbot, make_window, tmp_path, monkeypatch
):
    from conftest import save_tiny_model
    from window_helpers import draw

    from sketchpad.ui.remote_dialog import TOKEN_KEY, URL_KEY, ServerChoice

    monkeypatch.setattr(remote_link, "RECONNECT_INTERVAL_MS", 60_000)  # not during this test
    model = save_tiny_model(tmp_path / "local.safetensors", name="local tiny")
    w = make_window(model)
    server = ThreadedServer()
    asked = []

    def ask(url, token):
        asked.append((url, token))
        return ServerChoice(server.url, TOKEN, remember_token=False)

    w.remote._ask = ask
    model_action = {a.text(): a for a in w.menuBar().actions()}["&Model"]
    texts = [a.text() for a in model_action.menu().actions()]
    assert "Remote generator…" in texts and "Use the local model" in texts
    with qtbot.waitSignal(w.frameShown, timeout=10_000) as shown:
        w.remote.connect_action.trigger()
    assert shown.args[0].device_text.startswith("Remote: 127.0.0.1")
    assert w.model.name == "tiny remote" and w.remote.active == server.url
    assert w.device_label.text().startswith("Remote: 127.0.0.1")
    assert "ms round trip" in w.device_label.text()
    assert w.settings.store.value(URL_KEY) == server.url
    assert w.settings.store.value(TOKEN_KEY) is None  # not asked to remember it
    assert w.settings.last_model == model  # the server is not remembered as a model file
    assert w.remote.local_action.isEnabled()

    w.remote._ask = lambda url, token: ServerChoice(server.url, "a-wrong-token-0123456789", False)
    with qtbot.waitSignal(w.service.remoteFailed, timeout=10_000):
        w.remote.connect_action.trigger()
    title, text = w.errors[-1]
    assert "refused the token" in text and "Still generating on 127.0.0.1" in text
    assert w.remote.active == server.url  # the working connection stays

    server.stop()
    with qtbot.waitSignal(w.frameShown, timeout=10_000) as shown:
        draw(w)
    qtbot.waitUntil(lambda: w.model.name == "local tiny", timeout=10_000)
    assert w.status.currentMessage().startswith("Lost the server 127.0.0.1")
    assert "this computer's model" in w.status.currentMessage()
    assert not w.remote.active
    with qtbot.waitSignal(w.frameShown, timeout=10_000) as shown:
        draw(w, y=90)
    assert not shown.args[0].device_text.startswith("Remote")
