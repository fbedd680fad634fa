"""Colour hints over the wire: encoded and decoded, hostile payloads refused, passed to the
engine by the server, sent by `RemoteEngine` only to a model that takes them."""

import io
import json
import urllib.request
import zlib

import numpy as np
import pytest
import torch
from conftest import TINY_HINTED, tiny_networks
from PIL import Image
from remote_helpers import AUTH, TOKEN, R, ThreadedServer, raw_client, sketch
from websockets.exceptions import ConnectionClosed

from sketchpad.checkpoint import LoadedModel
from sketchpad.data.hints import hint_input
from sketchpad.engine import Engine, Request
from sketchpad.remote import protocol
from sketchpad.remote.client import RemoteEngine


def hinted_engine() -> Engine:
    g, _ = tiny_networks(TINY_HINTED, None, seed=3)
    model = LoadedModel(g.eval(), TINY_HINTED, metadata={"name": "tiny hinted"})
    return Engine(model, "cpu", "fp32")


def red_hints(size: int = R) -> torch.Tensor:
    """(4, size, size): a red dab in the middle, no hint elsewhere."""
    colour, mask = torch.zeros(3, size, size), torch.zeros(1, size, size)
    lo, hi = size // 4, size // 2
    mask[0, lo:hi, lo:hi] = 1.0
    colour[:, lo:hi, lo:hi] = torch.tensor([0.8, -0.6, -0.7])[:, None, None]
    return hint_input(colour, mask)


def test_hints_round_trip_through_encode_and_decode():
    rng = np.random.default_rng(0)
    rgba = rng.integers(0, 256, (R, R, 4), dtype=np.uint8)
    rgba[..., 3] = np.where(rgba[..., 3] >= 128, 255, 0)
    ink = rng.random((R, R)).astype(np.float32)
    header, payload = protocol.unpack(protocol.encode_request(7, ink, seed=3, hints=rgba))
    assert header["inputs"] == ["ink", "hints"] and header["hints"]["encoding"] == "zlib-rgba"
    got = protocol.decode_request(header, payload, R)
    assert np.array_equal(got.hints, rgba) and got.seed == 3
    assert np.abs(got.ink - ink).max() <= 0.5 / 255 + 1e-6  # the ink still decodes
    # the PNG encoding of the hints
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, "PNG")
    ink_part = zlib.compress(bytes(R * R))
    png_header = {
        "type": "generate",
        "id": 8,
        "size": R,
        "encoding": "zlib-u8",
        "inputs": ["ink", "hints"],
        "hints": {"size": R, "encoding": "png", "bytes": len(buffer.getvalue())},
    }
    got = protocol.decode_request(png_header, memoryview(ink_part + buffer.getvalue()), R)
    assert np.array_equal(got.hints, rgba) and got.ink.max() == 0
    plain = protocol.decode_request(*protocol.unpack(protocol.encode_request(9, ink)), R)
    assert plain.hints is None  # an older client's request: no hints


def test_hostile_hint_payloads_are_refused():
    ink = zlib.compress(bytes(R * R))
    hints = zlib.compress(bytes(R * R * 4))
    base = {"type": "generate", "id": 1, "size": R, "encoding": "zlib-u8"}
    spec = {"size": R, "encoding": "zlib-rgba", "bytes": len(hints)}
    bomb = zlib.compress(bytes(50_000_000))
    bad_png = io.BytesIO()
    Image.new("RGBA", (R * 2, R * 2)).save(bad_png, "PNG")
    cases = [
        ({"inputs": ["ink", "hints"]}, ink + hints, "'hints' must be an object"),
        ({"inputs": ["ink"], "hints": spec}, ink + hints, "does not list it"),
        ({"inputs": ["ink", "hints", "hints"], "hints": spec}, ink + hints, "once each"),
        ({"inputs": ["hints"], "hints": spec}, ink + hints, "'inputs'"),
        ({"inputs": ["ink", "noise"]}, ink, "'inputs'"),
        ({"inputs": ["ink", "hints"], "hints": [R, "zlib-rgba"]}, ink + hints, "an object"),
        ({"inputs": ["ink", "hints"], "hints": {**spec, "extra": 1}}, ink + hints, "an object"),
        ({"inputs": ["ink", "hints"], "hints": {**spec, "size": R * 2}}, ink + hints, "px"),
        ({"inputs": ["ink", "hints"], "hints": {**spec, "size": "32"}}, ink + hints, "'size'"),
        ({"inputs": ["ink", "hints"], "hints": {**spec, "bytes": 10**9}}, ink + hints, "bytes"),
        ({"inputs": ["ink", "hints"], "hints": {**spec, "bytes": 0}}, ink + hints, "bytes"),
        ({"inputs": ["ink", "hints"], "hints": {**spec, "bytes": True}}, ink + hints, "'bytes'"),
        ({"inputs": ["ink", "hints"], "hints": {**spec, "encoding": "npy"}}, ink + hints, "enc"),
        (
            {"inputs": ["ink", "hints"], "hints": {**spec, "bytes": len(bomb)}},
            ink + bomb,
            "hints holds",
        ),
        (
            {"inputs": ["ink", "hints"], "hints": {**spec, "bytes": 5}},
            ink + b"\x00" * 5,
            "hints is not zlib",
        ),
        (
            {
                "inputs": ["ink", "hints"],
                "hints": {**spec, "encoding": "png", "bytes": len(bad_png.getvalue())},
            },
            ink + bad_png.getvalue(),
            f"hints must be a {R}×{R} PNG",
        ),
        (
            {"inputs": ["ink", "hints"], "hints": {**spec, "encoding": "png", "bytes": 9}},
            ink + b"not a png",
            "hints is not a readable PNG",
        ),
    ]
    for extra, payload, why in cases:
        with pytest.raises(protocol.ProtocolError, match=why):
            protocol.decode_request({**base, **extra}, memoryview(payload), R)


def test_remote_hints_reach_the_engine_and_give_the_local_picture():
    engine = hinted_engine()
    seen = []
    run_batch = engine.run_batch

    def spy(requests):
        seen.extend(requests)
        return run_batch(requests)

    engine.run_batch = spy  # type: ignore[method-assign]
    s = ThreadedServer(engine=engine)
    try:
        local = hinted_engine()
        remote = RemoteEngine(s.url, TOKEN)
        assert remote.takes_hints and remote.inputs == ("ink", "hints", "noise")
        for hints in (red_hints(), red_hints(2 * R)):  # any square size: resized for the wire
            want = local.run(Request(1, sketch(), seed=2, hints=hints))
            got = remote.run(Request(1, sketch(), seed=2, hints=hints))
            assert np.abs(want.image.astype(int) - got.image.astype(int)).max() <= 1
            arrived = seen[-1].hints
            assert arrived is not None and arrived.shape == (4, R, R)
            assert torch.equal(arrived[3], red_hints()[3])  # the mask, exactly
            assert (arrived - red_hints()).abs().max() <= 1.0 / 127.5  # the colour, to 8 bits
        plain = remote.run(Request(2, sketch(), seed=2))
        assert seen[-1].hints is None
        assert not np.array_equal(plain.image, got.image)  # the hints made a difference
        remote.close()
    finally:
        s.stop()


def test_a_model_without_hint_inputs_gets_no_hints(served):
    remote = RemoteEngine(served.url, TOKEN)
    assert not remote.takes_hints and remote.inputs == ("ink", "noise")
    with_hints = remote.run(Request(1, sketch(), seed=4, hints=red_hints()))
    without = remote.run(Request(2, sketch(), seed=4))
    assert np.array_equal(with_hints.image, without.image)
    req = urllib.request.Request(f"http://127.0.0.1:{served.port}/health", headers=AUTH)
    with urllib.request.urlopen(req, timeout=5) as r:
        assert json.loads(r.read())["inputs"] == ["ink", "noise"]
    remote.close()


def test_a_hostile_hint_payload_closes_only_its_connection(served):
    good = RemoteEngine(served.url, TOKEN)
    bad = raw_client(served.url)
    bomb = zlib.compress(bytes(20_000_000))
    header = {
        "type": "generate",
        "id": 1,
        "size": R,
        "encoding": "zlib-u8",
        "inputs": ["ink", "hints"],
        "hints": {"size": R, "encoding": "zlib-rgba", "bytes": len(bomb)},
    }
    bad.send(protocol.pack(header, zlib.compress(bytes(R * R)) + bomb))
    with pytest.raises(ConnectionClosed) as closed:
        bad.recv(timeout=5)
    assert closed.value.rcvd.code == 1008 and "hints holds" in closed.value.rcvd.reason
    assert good.run(Request(2, sketch(), seed=0)).image.shape == (R, R, 3)
    good.close()
