"""`sketchpad serve` and `RemoteEngine`: same pictures as local, tokens, limits, newest-wins,
batching, dead clients, SIGTERM."""

import json
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zlib

import numpy as np
import pytest
import torch
from remote_helpers import (
    AUTH,
    TOKEN,
    R,
    ThreadedServer,
    raw_client,
    sketch,
    tiny_model,
    wait_until,
)
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from sketchpad.engine import Engine, Request
from sketchpad.remote import protocol
from sketchpad.remote.client import RemoteEngine, RemoteError
from sketchpad.remote.server import ServerLimits


def test_remote_pictures_equal_local_ones(served):
    local = Engine(tiny_model(), "cpu", "fp32")
    remote = RemoteEngine(served.url, TOKEN)
    assert (remote.name, remote.resolution, remote.takes_noise) == ("tiny remote", R, True)
    assert [b.label for b in remote.branches] == [b.label for b in local.branches]
    assert remote.branches[0].field == local.branches[0].field
    for seed in (0, 7):
        want = local.run(Request(1, sketch(), want_verdicts=True, seed=seed))
        got = remote.run(Request(1, sketch(), want_verdicts=True, seed=seed))
        assert np.abs(want.image.astype(int) - got.image.astype(int)).max() <= 1
        for (name_a, a), (name_b, b) in zip(want.verdicts, got.verdicts, strict=True):
            assert name_a == name_b and np.allclose(a, b, atol=1e-5)
    probe = remote.run(Request(2, sketch(), probe=(0.5, 0.5), seed=0))
    want = local.run(Request(2, sketch(), probe=(0.5, 0.5), seed=0))
    assert set(probe.attention) == set(want.attention)
    assert "Remote: 127.0.0.1" in remote.describe() and "ms round trip" in remote.describe()
    remote.close()


def test_a_batch_gives_each_request_its_own_picture():
    engine = Engine(tiny_model(), "cpu", "fp32")
    requests = [Request(i, sketch(shift=i), seed=i, want_verdicts=i == 1) for i in range(3)]
    batch = engine.run_batch(requests)
    for r, got in zip(requests, batch, strict=True):
        alone = engine.run(r)
        assert got.request_id == r.request_id
        assert np.abs(alone.image.astype(int) - got.image.astype(int)).max() <= 1
        assert (got.verdicts is None) == (not r.want_verdicts)
    assert not np.array_equal(batch[0].image, batch[2].image)


def test_a_wrong_or_missing_token_is_refused(served):
    with pytest.raises(RemoteError, match="refused the token"):
        RemoteEngine(served.url, "not-the-right-token-at-all")
    with pytest.raises(Exception) as missing:
        connect(served.url, open_timeout=5)
    assert "401" in str(missing.value)
    with pytest.raises(urllib.error.HTTPError) as health:
        urllib.request.urlopen(f"http://127.0.0.1:{served.port}/health", timeout=5)
    assert health.value.code == 401
    health.value.close()
    req = urllib.request.Request(f"http://127.0.0.1:{served.port}/health", headers=AUTH)
    with urllib.request.urlopen(req, timeout=5) as r:
        info = json.loads(r.read())
    assert info["model"] == "tiny remote" and info["batch_cap"] == 16 and "version" in info


def test_malformed_and_oversized_messages_close_only_that_connection():
    s = ThreadedServer(limits=ServerLimits(max_message_bytes=64 * 1024))
    try:
        good = RemoteEngine(s.url, TOKEN)
        bad_json = raw_client(s.url)
        bad_json.send(b"\x00\x00\x00\x05{nope")
        with pytest.raises(ConnectionClosed) as closed:
            bad_json.recv(timeout=5)
        assert closed.value.rcvd.code == 1008 and "JSON" in closed.value.rcvd.reason
        big = raw_client(s.url)
        big.send(b"\x00" * (65 * 1024))
        with pytest.raises(ConnectionClosed) as closed:
            big.recv(timeout=5)
        assert closed.value.rcvd.code == 1009  # message too big
        bomb = raw_client(s.url)  # a small message that would inflate to 20 MB
        header = {"type": "generate", "id": 1, "size": R, "encoding": "zlib-u8"}
        bomb.send(protocol.pack(header, zlib.compress(b"\x00" * 20_000_000)))
        with pytest.raises(ConnectionClosed) as closed:
            bomb.recv(timeout=5)
        assert closed.value.rcvd.code == 1008 and "bytes" in closed.value.rcvd.reason
        wrong_size = raw_client(s.url)
        wrong_size.send(protocol.encode_request(1, np.zeros((R * 2, R * 2), np.float32)))
        with pytest.raises(ConnectionClosed) as closed:
            wrong_size.recv(timeout=5)
        assert f"takes {R} px" in closed.value.rcvd.reason
        assert good.run(Request(5, sketch(), seed=1)).image.shape == (R, R, 3)  # still served
        assert wait_until(lambda: s.clients() == 1)
    finally:
        s.stop()


def test_a_client_killed_mid_request_frees_its_slot():
    s = ThreadedServer(limits=ServerLimits(max_clients=1), slow_ms=300)
    try:
        sock = socket.create_connection(("127.0.0.1", s.port))
        ws = connect(s.url, sock=sock, additional_headers=AUTH, compression=None).__enter__()
        ws.recv(timeout=5)
        ws.send(protocol.encode_request(1, sketch()[0].numpy(), seed=0))
        time.sleep(0.05)  # the request is running
        sock.shutdown(socket.SHUT_RDWR)  # killed: no close frame
        sock.close()
        assert wait_until(lambda: s.clients() == 0)
        other = RemoteEngine(s.url, TOKEN)  # the only slot is free again
        assert other.run(Request(2, sketch(), seed=0)).request_id == 2
    finally:
        s.stop()


def test_newest_snapshot_wins_per_client():
    s = ThreadedServer(slow_ms=100)
    try:
        ws = raw_client(s.url)
        for i in range(20):
            ws.send(protocol.encode_request(i, sketch(shift=i % 4)[0].numpy(), seed=0))
        answered = []
        while not answered or answered[-1] != 19:
            header, _ = protocol.unpack(ws.recv(timeout=10))
            answered.append(header["id"])
        assert answered[-1] == 19
        assert s.server.stats.snapshots <= 4, answered  # the first, maybe one or two, the last
        ws.close()
    finally:
        s.stop()


def test_snapshots_from_several_clients_run_as_one_batch():
    s = ThreadedServer(slow_ms=200)
    try:
        clients = [raw_client(s.url) for _ in range(4)]
        blocker = raw_client(s.url)
        blocker.send(protocol.encode_request(0, sketch()[0].numpy(), seed=0))  # occupies the device
        time.sleep(0.05)
        for i, ws in enumerate(clients):
            ws.send(protocol.encode_request(i + 1, sketch(shift=i)[0].numpy(), seed=i))
        sizes = []
        for ws in clients:
            header, payload = protocol.unpack(ws.recv(timeout=10))
            sizes.append(header["batch_size"])
            assert protocol.decode_result(header, payload).image.shape == (R, R, 3)
        assert sizes == [4, 4, 4, 4]
        assert s.server.stats.largest_batch == 4
    finally:
        s.stop()


def test_rate_cap_refuses_floods_but_keeps_the_connection():
    s = ThreadedServer(limits=ServerLimits(max_rate=2.0))
    try:
        ws = raw_client(s.url)
        for i in range(8):
            ws.send(protocol.encode_request(i, sketch()[0].numpy(), seed=0))
        texts = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and len(texts) < 4:
            m = ws.recv(timeout=5)
            if isinstance(m, str):
                texts.append(json.loads(m))
        assert texts and all("rate limit" in t["reason"] for t in texts)
        assert s.clients() == 1
    finally:
        s.stop()


def test_the_app_engine_reports_a_dropped_server(served):
    from sketchpad.remote.client import ConnectionLost

    remote = RemoteEngine(served.url, TOKEN)
    remote.run(Request(1, sketch(), seed=0))
    served.stop()
    with pytest.raises(ConnectionLost):
        remote.run(Request(2, sketch(), seed=0))
    served.stop = lambda: None  # already stopped


def test_urls_and_unreachable_servers_get_clear_errors():
    with pytest.raises(RemoteError, match="ws://HOST:PORT"):
        RemoteEngine("http://example.org", TOKEN)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the with ends: nobody listens there
    with pytest.raises(RemoteError, match="cannot reach"):
        RemoteEngine(f"ws://127.0.0.1:{port}", TOKEN)


def test_protocol_refuses_bad_fields():
    payload = memoryview(zlib.compress(bytes(R * R)))
    base = {"type": "generate", "id": 1, "size": R, "encoding": "zlib-u8"}
    for bad, why in [
        ({"id": "x"}, "'id'"),
        ({"size": 10**6}, "'size'"),
        ({"probe": [2, 0]}, "'probe'"),
        ({"seed": -1}, "'seed'"),
        ({"inputs": ["photo"]}, "'inputs'"),
        ({"encoding": "pickle"}, "'encoding'"),
        ({"verdicts": "yes"}, "'verdicts'"),
    ]:
        with pytest.raises(protocol.ProtocolError, match=why):
            protocol.decode_request({**base, **bad}, payload, R)
    with pytest.raises(protocol.ProtocolError, match="out of bounds"):
        protocol.unpack(b"\xff\xff\xff\xff{}")
    ok = protocol.decode_request(base, payload, R)
    assert ok.ink.shape == (R, R) and ok.ink.max() == 0


@pytest.mark.slow
def test_serve_stops_cleanly_on_sigterm(tmp_path):
    from conftest import save_tiny_model

    model = save_tiny_model(tmp_path / "m.safetensors")
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    child = subprocess.Popen(
        [sys.executable, "-m", "sketchpad", "serve", "--model", model, "--port", "0"]
        + ["--token-file", str(token_file), "--device", "cpu"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = None
        for line in child.stdout:
            if line.startswith("listening on "):
                url = line.split()[-1]
                break
        assert url and url.startswith("ws://127.0.0.1:")
        remote = RemoteEngine(url, TOKEN)
        assert remote.run(Request(1, torch.zeros(1, 32, 32))).image.shape == (32, 32, 3)
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=30) == 0
        err = child.stderr.read()
        assert "stopped" in err and "Traceback" not in err
        assert "connected 127.0.0.1" in err  # connections are logged
    finally:
        if child.poll() is None:
            child.kill()


def test_serve_makes_a_token_once_and_keeps_it(tmp_path, monkeypatch):
    from sketchpad.remote.token import load_or_create_token

    monkeypatch.setenv("SKETCHPAD_CONFIG_DIR", str(tmp_path / "config"))
    token, made = load_or_create_token()
    again, made_again = load_or_create_token()
    assert made and not made_again and token == again and len(token) >= 16
    assert (tmp_path / "config" / "server-token").stat().st_mode & 0o077 == 0
    short = tmp_path / "short"
    short.write_text("abc")
    with pytest.raises(Exception, match="16"):
        load_or_create_token(short)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_tls_serves_wss(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"]
        + ["-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    s = ThreadedServer(ssl_context=server_context)
    try:
        client_context = ssl.create_default_context(cafile=str(cert))
        url = s.url.replace("ws://", "wss://")
        remote = RemoteEngine(url, TOKEN, ssl_context=client_context)
        assert remote.run(Request(1, sketch(), seed=0)).image.shape == (R, R, 3)
        remote.close()
        with pytest.raises(RemoteError, match="cannot reach"):  # plain ws:// to a TLS port
            RemoteEngine(s.url, TOKEN)
    finally:
        s.stop()


def test_generate_and_bench_use_a_server(served, tmp_path, capsys):
    from PIL import Image

    from sketchpad.cli import main

    sketch_file = tmp_path / "in" / "cross.png"
    sketch_file.parent.mkdir()
    Image.fromarray(((1 - sketch()[0].numpy()) * 255).astype(np.uint8)).save(sketch_file)
    out = tmp_path / "out"
    code = main(
        ["generate", str(sketch_file), "--out", str(out), "--server", served.url]
        + ["--token", TOKEN]
    )
    assert code == 0 and Image.open(out / "cross.png").size == (R, R)
    assert "Remote: 127.0.0.1" in capsys.readouterr().out
    assert main(["generate", str(sketch_file), "--out", str(out), "--server", served.url]) == 2
    assert "--token" in capsys.readouterr().err
    code = main(
        ["bench", "--server", served.url, "--token", TOKEN, "--clients", "3"]
        + ["--seconds", "1", "--json"]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 0 and report["clients"] == 3 and report["errors"] == 0
    assert (
        set(report["fps_per_client"]) == {"min", "median"} and report["fps_per_client"]["min"] > 0
    )
    assert set(report["latency_ms"]) == {"median", "p95"}
    assert 1 <= report["batch_size"]["mean"] <= report["batch_size"]["max"] <= 3


def test_stopping_finishes_the_batch_in_flight():
    s = ThreadedServer(slow_ms=300)
    ws = raw_client(s.url)
    ws.send(protocol.encode_request(3, sketch()[0].numpy(), seed=0))
    assert wait_until(lambda: s.server.stats.batches == 0 and s.clients() == 1)
    time.sleep(0.1)  # the batch is running
    s.stop()
    header, _ = protocol.unpack(ws.recv(timeout=5))  # its reply came before the close
    assert header["id"] == 3
    with pytest.raises(ConnectionClosed) as closed:
        ws.recv(timeout=5)
    assert closed.value.rcvd.code == 1001
