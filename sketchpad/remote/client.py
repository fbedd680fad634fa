"""`RemoteEngine`: the engine interface (`run`, `describe`, the model's facts) over a
connection to `sketchpad serve`, so the app's worker, `generate --server` and the bench use a
server exactly as they use a local engine. Synchronous: the thread that owns it waits for each
reply (the app's worker thread already runs one request at a time)."""

from __future__ import annotations

import contextlib
import json
import ssl
import time
from urllib.parse import urlsplit

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.sync.client import ClientConnection, connect

from models.receptive_field import ReceptiveField
from sketchpad.data.hints import fit_hints, rgba_from_hints
from sketchpad.engine import Request, Result
from sketchpad.errors import ConnectionLost, RemoteError
from sketchpad.framing import Frame
from sketchpad.remote import protocol
from sketchpad.remote.protocol import ProtocolError
from sketchpad.verdicts import Branch

CONNECT_TIMEOUT_S = 10.0
REPLY_TIMEOUT_S = 20.0


def check_url(url: str) -> str:
    """A ws:// or wss:// URL with a host; RemoteError says what is wrong otherwise."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise RemoteError(
            f"'{url}' is not a server address; write it as ws://HOST:PORT (or wss:// with TLS)"
        )
    return url.strip()


class RemoteEngine:
    """An engine whose model runs on a server. Raises RemoteError when it cannot connect."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = REPLY_TIMEOUT_S,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.url = check_url(url)
        self.host = urlsplit(self.url).hostname or "?"
        self.timeout = timeout
        self.fallback_reason: str | None = None
        self.round_trip_ms: float | None = None
        self.last_batch_size = 1
        self._stack = contextlib.ExitStack()
        try:
            self._ws: ClientConnection = self._stack.enter_context(
                connect(
                    self.url,
                    additional_headers={"Authorization": f"Bearer {token}"},
                    open_timeout=CONNECT_TIMEOUT_S,
                    max_size=64 * 1024 * 1024,
                    compression=None,
                    ssl=ssl_context,
                    user_agent_header=None,
                )
            )
        except InvalidStatus as exc:
            code = exc.response.status_code
            if code == 401:
                raise RemoteError(
                    f"{self.host} refused the token; use the one `sketchpad serve` printed "
                    "(it is kept in the server's user config folder, file server-token)"
                ) from None
            raise RemoteError(f"{self.host} refused the connection (HTTP {code})") from None
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
            raise RemoteError(f"cannot reach {self.url} ({exc})") from None
        try:
            hello = protocol.parse_text(self._recv_text())
            self._read_hello(hello)
        except (ProtocolError, KeyError, TypeError, ValueError) as exc:
            self.close()
            raise RemoteError(f"{self.host} did not answer as a Sketchpad server ({exc})") from None

    def _recv_text(self) -> str:
        try:
            message = self._ws.recv(timeout=CONNECT_TIMEOUT_S)
        except (ConnectionClosed, TimeoutError) as exc:
            raise ConnectionLost(f"{self.host} closed the connection ({exc})") from None
        if not isinstance(message, str):
            raise ProtocolError("expected the server's hello")
        return message

    def _read_hello(self, hello: dict) -> None:
        if hello.get("type") != "hello" or hello.get("protocol") != protocol.PROTOCOL_VERSION:
            raise ProtocolError(f"protocol {hello.get('protocol')!r}, expected 1")
        self.info = hello
        self.name = str(hello["model"])
        self.resolution = int(hello["resolution"])
        if not 1 <= self.resolution <= protocol.MAX_SNAPSHOT_SIDE:
            raise ProtocolError("resolution out of range")
        self.takes_noise = bool(hello["takes_noise"])
        inputs = hello.get("inputs", ["ink"])  # an older server may not list them
        if not isinstance(inputs, list) or not all(isinstance(k, str) for k in inputs):
            raise ProtocolError("'inputs' must be a list of names")
        self.inputs = tuple(inputs[:16])
        self.takes_hints = "hints" in self.inputs
        self.has_discriminator = bool(hello["has_discriminator"])
        self.attention_levels = tuple(int(v) for v in hello["attention_levels"])
        self.branches = [
            Branch(
                str(b["label"]),
                _receptive_field(b["field"]),
            )
            for b in hello["branches"]
        ]
        self.device_text = str(hello.get("device") or "?")
        self.gpu = hello.get("gpu")

    # -- the engine interface -------------------------------------------------------------

    def run(self, request: Request) -> Result:
        """Send the snapshot (and its hints, to a server whose model takes them) and wait for
        its reply (older replies are skipped)."""
        ink = request.sketch[0].float().numpy()  # (R, R)
        hints = None
        if request.hints is not None and self.takes_hints:  # at the snapshot's size, as RGBA
            hints = rgba_from_hints(fit_hints(request.hints, ink.shape[-1]))
        start = time.perf_counter()
        message = protocol.encode_request(
            request.request_id,
            ink,
            seed=request.seed,
            want_verdicts=request.want_verdicts,
            probe=request.probe,
            hints=hints,
            frame=request.frame,
        )
        try:
            self._ws.send(message)
            deadline = start + self.timeout
            while True:
                left = deadline - time.perf_counter()
                if left <= 0:
                    raise ConnectionLost(f"{self.host} did not answer within {self.timeout:g} s")
                reply = self._ws.recv(timeout=left)
                if isinstance(reply, str):
                    answer = protocol.parse_text(reply)
                    if answer.get("type") == "error" and answer.get("id") == request.request_id:
                        raise RemoteError(f"{self.host}: {answer.get('reason')}")
                    continue
                header, payload = protocol.unpack(reply)
                if header.get("id") != request.request_id:
                    continue  # an older request's reply
                out = protocol.decode_result(header, payload)
                break
        except ConnectionClosed as exc:
            raise ConnectionLost(f"the connection to {self.host} dropped ({exc})") from None
        except TimeoutError:
            raise ConnectionLost(f"{self.host} did not answer within {self.timeout:g} s") from None
        except OSError as exc:
            raise ConnectionLost(f"the connection to {self.host} failed ({exc})") from None
        except ProtocolError as exc:
            raise RemoteError(f"{self.host} sent a malformed reply ({exc})") from None
        self.round_trip_ms = (time.perf_counter() - start) * 1000.0
        self.last_batch_size = out.batch_size
        timings = dict(out.timings)
        timings["round_trip"] = self.round_trip_ms
        frame = None if out.frame is None else Frame(*out.frame)
        return Result(
            request.request_id, out.image, out.verdicts, out.attention, timings, frame=frame
        )

    def set_device(self, name: str) -> str | None:
        return f"the server at {self.host} chooses its own device ({self.device_text})"

    def describe(self) -> str:
        where = self.gpu or self.device_text
        rt = f", {self.round_trip_ms:.0f} ms round trip" if self.round_trip_ms is not None else ""
        return f"Remote: {self.host}, {where}{rt}"

    def close(self) -> None:
        self._stack.close()


def health(url: str, token: str) -> dict:
    """The server's `GET /health` answer (its hello), over plain HTTP(S)."""
    import urllib.request

    parts = urlsplit(check_url(url))
    scheme = "https" if parts.scheme == "wss" else "http"
    req = urllib.request.Request(
        f"{scheme}://{parts.netloc}/health", headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(req, timeout=CONNECT_TIMEOUT_S) as r:
            return json.loads(r.read(1024 * 1024))
    except OSError as exc:
        raise RemoteError(f"cannot ask {parts.hostname} for its health ({exc})") from None


def _receptive_field(d: dict) -> ReceptiveField:
    """A branch's receptive field from the server's hello (JSON lists back to tuples)."""
    return ReceptiveField(
        size=int(d["size"]),
        jump=int(d["jump"]),
        start=float(d["start"]),
        output_size=tuple(int(v) for v in d["output_size"]),
        input_size=tuple(int(v) for v in d["input_size"]),
        per_layer=tuple(int(v) for v in d["per_layer"]),
    )
