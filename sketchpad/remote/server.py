"""`sketchpad serve`: the engine behind a WebSocket, shared by many artists.

Each connection is a slot holding at most one pending snapshot: a newer one replaces it
(newest wins, as in the app). Whenever the device is free, the batcher takes every slot's
pending snapshot (the oldest first, up to the batch cap) and runs them as one batch; verdict
requests go in a batch of their own, and probes (attention is per picture) run alone. Replies
are sent by per-connection tasks, so a slow or dead client holds up only its own slot.

The handshake needs `Authorization: Bearer TOKEN`; `GET /health` (same token) answers JSON.
The log names connections, never what they draw.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import ssl
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http import HTTPStatus

import torch
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request as HttpRequest
from websockets.http11 import Response

from sketchpad import __version__
from sketchpad.data.hints import hints_from_rgba
from sketchpad.engine import Engine, Request, Result
from sketchpad.remote import protocol
from sketchpad.remote.protocol import ProtocolError, SnapshotRequest
from sketchpad.remote.token import token_matches

log = logging.getLogger("sketchpad.serve")

SEND_TIMEOUT_S = 10.0
"""A client that does not take a reply within this long is closed."""


@dataclass(frozen=True)
class ServerLimits:
    batch_cap: int = 16  # the most snapshots one batch runs
    max_message_bytes: int = protocol.DEFAULT_MAX_MESSAGE_BYTES
    max_rate: float = 60.0  # snapshots a second per client (a burst of twice that passes)
    max_clients: int = 64


@dataclass
class Slot:
    """One connection: its newest snapshot not yet taken, and its rate budget."""

    connection: ServerConnection
    peer: str
    pending: SnapshotRequest | None = None
    pending_since: float = 0.0
    received: int = 0
    dropped: int = 0  # snapshots replaced by a newer one before they ran
    allowance: float = 0.0
    last_refill: float = field(default_factory=time.monotonic)


@dataclass
class ServerStats:
    batches: int = 0
    snapshots: int = 0
    largest_batch: int = 0


class GeneratorServer:
    """Serves one engine. Use `start(host, port)` inside a running event loop, then
    `stop()` (finishes the batch in flight and closes every connection)."""

    def __init__(
        self,
        engine: Engine,
        token: str,
        limits: ServerLimits | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.engine = engine
        self.token = token
        self.limits = limits or ServerLimits()
        self.ssl_context = ssl_context
        self.stats = ServerStats()
        self._slots: dict[ServerConnection, Slot] = {}
        self._wake = asyncio.Event()
        self._stopping = False
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="sketchpad-engine")
        self._server: Server | None = None
        self._batcher: asyncio.Task | None = None
        self._sends: set[asyncio.Task] = set()

    # -- life ---------------------------------------------------------------------------------

    async def start(self, host: str, port: int) -> int:
        """Listen; returns the port (useful with port 0)."""
        self._server = await serve(
            self._handle,
            host,
            port,
            process_request=self._check_request,
            max_size=self.limits.max_message_bytes,
            max_queue=4,
            compression=None,  # the payloads are compressed already
            ssl=self.ssl_context,
            logger=logging.getLogger("sketchpad.serve.websockets"),
        )
        self._batcher = asyncio.create_task(self._run_batches())
        return self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Finish the batch in flight (its replies are sent), then close every connection."""
        self._stopping = True
        self._wake.set()
        if self._server is not None:
            self._server.close(close_connections=False)
        if self._batcher is not None:
            await self._batcher
        if self._sends:
            await asyncio.wait(self._sends, timeout=SEND_TIMEOUT_S)
        for slot in list(self._slots.values()):
            await slot.connection.close(1001, "the server is shutting down")
        if self._server is not None:
            await self._server.wait_closed()
        self._executor.shutdown(wait=True)

    def hello(self) -> dict:
        """What the server says of itself: on connecting and on `GET /health`."""
        e = self.engine
        gpu = torch.cuda.get_device_name(e.device) if e.device.type == "cuda" else None
        return {
            "type": "hello",
            "protocol": protocol.PROTOCOL_VERSION,
            "version": __version__,
            "model": e.name,
            "resolution": e.resolution,
            "inputs": model_inputs(e),
            "takes_noise": e.takes_noise,
            "has_discriminator": e.has_discriminator,
            "branches": [
                {"label": b.label, "field": dataclasses.asdict(b.field)} for b in e.branches
            ],
            "attention_levels": list(e.attention_levels),
            "device": e.describe(),
            "gpu": gpu,
            "batch_cap": self.limits.batch_cap,
            "max_message_bytes": self.limits.max_message_bytes,
            "max_rate": self.limits.max_rate,
        }

    # -- connections --------------------------------------------------------------------------

    def _check_request(self, connection: ServerConnection, request: HttpRequest):
        """The token, before anything else; `/health` is answered here."""
        auth = request.headers.get("Authorization", "")
        presented = auth[7:] if auth.startswith("Bearer ") else None
        if not token_matches(presented, self.token):
            log.info("refused %s: wrong or missing token", _peer(connection))
            return _plain(HTTPStatus.UNAUTHORIZED, "a valid token is required\n")
        if request.path.split("?")[0] == "/health":
            body = json.dumps(self.hello()).encode()
            headers = Headers([("Content-Type", "application/json")])
            return Response(200, "OK", headers, body)
        if self._stopping:
            return _plain(HTTPStatus.SERVICE_UNAVAILABLE, "the server is shutting down\n")
        if len(self._slots) >= self.limits.max_clients:
            log.info("refused %s: %d clients already", _peer(connection), len(self._slots))
            return _plain(HTTPStatus.SERVICE_UNAVAILABLE, "the server is full\n")
        return None

    async def _handle(self, connection: ServerConnection) -> None:
        slot = Slot(connection, _peer(connection), allowance=2 * self.limits.max_rate)
        self._slots[connection] = slot
        log.info("connected %s (%d clients)", slot.peer, len(self._slots))
        reason = "closed by the client"
        try:
            await connection.send(json.dumps(self.hello()))
            async for message in connection:
                if isinstance(message, str):
                    raise ProtocolError("expected a binary snapshot message")
                if not self._take_allowance(slot):
                    header, _ = protocol.unpack(message)
                    await connection.send(
                        json.dumps(
                            {
                                "type": "error",
                                "id": header.get("id"),
                                "reason": f"rate limit: at most {self.limits.max_rate:g} "
                                "snapshots a second",
                            }
                        )
                    )
                    continue
                header, payload = protocol.unpack(message)
                request = protocol.decode_request(header, payload, self.engine.resolution)
                slot.received += 1
                if slot.pending is not None:
                    slot.dropped += 1
                else:
                    slot.pending_since = time.monotonic()
                slot.pending = request
                self._wake.set()
        except ProtocolError as exc:
            reason = f"protocol error: {exc}"
            await connection.close(1008, str(exc)[:120])
        except ConnectionClosed as exc:
            reason = f"connection closed ({exc.rcvd.code if exc.rcvd else 'no close frame'})"
        finally:
            if self._stopping:
                reason = "the server is shutting down"
            self._slots.pop(connection, None)
            log.info(
                "disconnected %s: %s (%d snapshots, %d replaced by newer ones)",
                slot.peer,
                reason,
                slot.received,
                slot.dropped,
            )

    def _take_allowance(self, slot: Slot) -> bool:
        now = time.monotonic()
        rate = self.limits.max_rate
        slot.allowance = min(2 * rate, slot.allowance + (now - slot.last_refill) * rate)
        slot.last_refill = now
        if slot.allowance < 1.0:
            return False
        slot.allowance -= 1.0
        return True

    # -- batching -----------------------------------------------------------------------------

    def _take_batch(self) -> list[tuple[Slot, SnapshotRequest]]:
        """The next batch: the oldest pending snapshots of one kind (plain, with verdicts,
        or a probe alone), at most `batch_cap`."""
        waiting = sorted(
            (s for s in self._slots.values() if s.pending is not None),
            key=lambda s: s.pending_since,
        )
        if not waiting:
            return []
        first = waiting[0].pending
        assert first is not None
        if first.probe is not None:
            chosen = [waiting[0]]
        else:
            kind = first.want_verdicts
            chosen = [
                s
                for s in waiting
                if s.pending is not None
                and s.pending.probe is None
                and s.pending.want_verdicts == kind
            ][: self.limits.batch_cap]
        batch = []
        for slot in chosen:
            assert slot.pending is not None
            batch.append((slot, slot.pending))
            slot.pending = None
        return batch

    async def _run_batches(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = self._take_batch()
            if not batch:
                if self._stopping:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            requests = [self._request(r) for _, r in batch]
            try:
                results = await loop.run_in_executor(
                    self._executor, self.engine.run_batch, requests
                )
            except Exception as exc:  # an engine failure answers this batch, not the server
                log.exception("a batch of %d failed", len(batch))
                for slot, r in batch:
                    reason = f"generation failed ({exc})"
                    self._send(
                        slot, json.dumps({"type": "error", "id": r.request_id, "reason": reason})
                    )
                continue
            self._count(len(batch))
            for (slot, r), result in zip(batch, results, strict=True):
                self._send(slot, _encode(result, len(batch), r.reply_png))

    def _request(self, r: SnapshotRequest) -> Request:
        """The engine's request for a decoded snapshot (hints only for a model that takes
        them: another one would ignore them)."""
        hints = None
        if r.hints is not None and self.engine.takes_hints:
            hints = hints_from_rgba(r.hints, self.engine.resolution)  # (4, R, R)
        return Request(
            r.request_id,
            torch.from_numpy(r.ink)[None],
            want_verdicts=r.want_verdicts,
            probe=r.probe,
            seed=r.seed,
            hints=hints,
            frame=r.frame,
        )

    def _count(self, n: int) -> None:
        s = self.stats
        s.batches += 1
        s.snapshots += n
        s.largest_batch = max(s.largest_batch, n)

    def _send(self, slot: Slot, message: bytes | str) -> None:
        if slot.connection not in self._slots:
            return  # gone while its snapshot ran
        task = asyncio.create_task(self._send_one(slot, message))
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    async def _send_one(self, slot: Slot, message: bytes | str) -> None:
        try:
            await asyncio.wait_for(slot.connection.send(message), SEND_TIMEOUT_S)
        except TimeoutError:
            log.info("closing %s: it does not read its replies", slot.peer)
            slot.connection.transport.abort()
        except ConnectionClosed:
            pass


def model_inputs(engine: Engine) -> list[str]:
    """What the served model takes, for the hello: "ink", then "hints" and "noise" where it
    has them (a client sends hints only to a server that lists them)."""
    inputs = ["ink"]
    if engine.takes_hints:
        inputs.append("hints")
    if engine.takes_noise:
        inputs.append("noise")
    return inputs


def _encode(result: Result, batch_size: int, png: bool) -> bytes:
    return protocol.encode_result(
        result.request_id,
        result.image,
        result.verdicts,
        result.attention,
        result.timings,
        batch_size,
        png=png,
        frame=None
        if result.frame is None
        else (result.frame.y, result.frame.x, result.frame.side, result.frame.thin),
    )


def _peer(connection: ServerConnection) -> str:
    address = connection.remote_address
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}"
    return str(address)


def _plain(status: HTTPStatus, text: str) -> Response:
    headers = Headers([("Content-Type", "text/plain; charset=utf-8")])
    return Response(status.value, status.phrase, headers, text.encode())
