"""A `GeneratorServer` on a tiny model, running in a background thread's event loop, for the
remote-generator tests."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable

import torch
from conftest import tiny_networks
from websockets.sync.client import connect

from models import DiscriminatorConfig, GeneratorConfig
from sketchpad.checkpoint import LoadedModel
from sketchpad.engine import Engine
from sketchpad.remote.server import GeneratorServer, ServerLimits

R = 32
G_CFG = GeneratorConfig(
    resolution=R, base_width=4, max_width=8, depth=3, attention_levels=(1,), noise_channels=2
)
D_CFG = DiscriminatorConfig(arch="shared_trunk", ndf=4, branches=2, resolution=R, max_mult=2)
TOKEN = "a-test-token-of-enough-length"


def tiny_model() -> LoadedModel:
    g, d = tiny_networks(G_CFG, D_CFG, attention=0.5)
    return LoadedModel(g.eval(), G_CFG, d.eval(), D_CFG, {"name": "tiny remote"})


def sketch(shift: int = 0) -> torch.Tensor:
    s = torch.zeros(1, R, R)
    s[0, 8:24, 15 + shift : 17 + shift] = 1.0
    s[0, 15:17, 8:24] = 1.0
    return s


class ThreadedServer:
    """Starts the server on 127.0.0.1 (a free port); `url`, `server`, `stop()`."""

    def __init__(
        self,
        engine: Engine | None = None,
        limits: ServerLimits | None = None,
        slow_ms: float = 0.0,
        port: int = 0,
        ssl_context=None,
    ) -> None:
        self.engine = engine or Engine(tiny_model(), "cpu", "fp32")
        if slow_ms:  # a slower device, so that snapshots pile up while a batch runs
            run_batch: Callable = self.engine.run_batch

            def slow(requests):
                time.sleep(slow_ms / 1000.0)
                return run_batch(requests)

            self.engine.run_batch = slow  # type: ignore[method-assign]
        self.server = GeneratorServer(self.engine, TOKEN, limits, ssl_context)
        self.loop = asyncio.new_event_loop()
        started = threading.Event()
        self.port = port

        def main() -> None:
            asyncio.set_event_loop(self.loop)
            self.port = self.loop.run_until_complete(self.server.start("127.0.0.1", self.port))
            started.set()
            self.loop.run_forever()

        self.thread = threading.Thread(target=main, daemon=True)
        self.thread.start()
        assert started.wait(10)
        self.url = f"ws://127.0.0.1:{self.port}"

    def clients(self) -> int:
        return len(self.server._slots)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(20)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def wait_until(predicate: Callable[[], bool], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def raw_client(url: str):
    """A bare WebSocket client that has read the server's hello."""
    ws = connect(url, additional_headers=AUTH, compression=None, max_size=None).__enter__()
    assert json.loads(ws.recv(timeout=5))["type"] == "hello"
    return ws
