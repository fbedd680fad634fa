"""The wire format between `sketchpad serve` and its clients. Nothing here is trusted.

A binary message is a 4-byte big-endian header length, a UTF-8 JSON header, then a payload:

- request (client → server): header `{"type": "generate", "id", "inputs": ["ink"] | ["ink",
  "hints"], "size", "encoding": "zlib-u8" | "png", "seed", "verdicts", "probe", "reply": "raw" |
  "png", "hints": {"size", "encoding": "zlib-rgba" | "png", "bytes"} | absent, "frame": true |
  false | absent (fit a small drawing to the model's frame)}`; the payload is
  the ink snapshot, either `size`×`size` bytes (0 paper … 255 ink) compressed with zlib, or a
  greyscale PNG (dark lines on white), then, when the inputs list "hints", the colour hints in
  the payload's last `hints.bytes` bytes: `size`×`size` RGBA (alpha ≥ 128 = a hint of that RGB
  colour, below = none) compressed with zlib, or an RGBA PNG. A request without hints (an
  older client) is answered as before; a model without hint inputs ignores them.
- result (server → client): header `{"type": "result", "id", "size", "encoding": "zlib-rgb" |
  "png", "image_bytes", "verdicts": [[label, h, w], ...] | null, "attention": [[level, h, w],
  ...] | null, "timings", "batch_size", "frame": [y, x, side, thin] | absent (the frame a small
  drawing was painted in)}`; the payload is the picture (`size`×`size`×3 bytes
  compressed with zlib, or a PNG), then each map as little-endian float32, in header order.

Text messages carry JSON alone: the server's `hello` (model, its `inputs` such as ["ink",
"hints", "noise"], device, limits) right after the connection opens, and `error` replies
(`{"type": "error", "id", "reason"}`).
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from dataclasses import dataclass

import numpy as np

from sketchpad.errors import SketchpadError

PROTOCOL_VERSION = 1
MAX_HEADER_BYTES = 16 * 1024
MAX_SNAPSHOT_SIDE = 2048
"""The largest snapshot side the server decodes (a model's resolution is at most this)."""
DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024
INPUT_KINDS = ("ink", "hints")
"""The inputs a request may carry; a request naming another kind is refused."""
HINT_ALPHA = 128
"""A hint pixel's alpha from this up is a hint; below it, no hint (alpha < 50%)."""


class ProtocolError(SketchpadError):
    """A message that does not follow the protocol; the server closes that connection."""


@dataclass(frozen=True)
class SnapshotRequest:
    """A decoded request: `ink` is (size, size) float32 in [0, 1] (1 = ink); `hints` is None
    or (size, size, 4) uint8 RGBA (alpha ≥ `HINT_ALPHA` = a hint of that colour)."""

    request_id: int
    ink: np.ndarray
    seed: int | None
    want_verdicts: bool
    probe: tuple[float, float] | None
    reply_png: bool
    hints: np.ndarray | None = None
    frame: bool = False


def pack(header: dict, payload: bytes = b"") -> bytes:
    head = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack(">I", len(head)) + head + payload


def unpack(message: bytes) -> tuple[dict, memoryview]:
    """(header, payload) of a binary message; ProtocolError when it is not one."""
    if len(message) < 4:
        raise ProtocolError("message too short for a header")
    (n,) = struct.unpack(">I", message[:4])
    if n > MAX_HEADER_BYTES or n > len(message) - 4:
        raise ProtocolError(f"header length {n} is out of bounds")
    try:
        header = json.loads(bytes(message[4 : 4 + n]))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"header is not JSON ({exc})") from None
    if not isinstance(header, dict):
        raise ProtocolError("header is not a JSON object")
    return header, memoryview(message)[4 + n :]


def parse_text(message: str) -> dict:
    """A text message: a JSON object with a "type"."""
    if len(message) > MAX_HEADER_BYTES:
        raise ProtocolError("text message too long")
    try:
        out = json.loads(message)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"message is not JSON ({exc})") from None
    if not isinstance(out, dict) or not isinstance(out.get("type"), str):
        raise ProtocolError("message is not a JSON object with a type")
    return out


# -- requests ---------------------------------------------------------------------------------


def encode_request(
    request_id: int,
    ink: np.ndarray,
    *,
    seed: int | None = None,
    want_verdicts: bool = False,
    probe: tuple[float, float] | None = None,
    reply_png: bool = False,
    hints: np.ndarray | None = None,
    frame: bool = False,
) -> bytes:
    """`ink`: (R, R) floats in [0, 1], 1 = ink. `hints`: None, or (R, R, 4) uint8 RGBA (alpha
    ≥ `HINT_ALPHA` = a hint of that colour), at the ink's size."""
    size = ink.shape[-1]
    raw = np.clip(np.rint(ink * 255.0), 0, 255).astype(np.uint8).tobytes()
    header = {
        "type": "generate",
        "id": request_id,
        "inputs": ["ink"],
        "size": size,
        "encoding": "zlib-u8",
        "seed": seed,
        "verdicts": want_verdicts,
        "probe": list(probe) if probe is not None else None,
        "reply": "png" if reply_png else "raw",
    }
    if frame:
        header["frame"] = True
    payload = zlib.compress(raw, 1)
    if hints is not None:
        if hints.shape != (size, size, 4) or hints.dtype != np.uint8:
            raise ValueError(f"hints must be ({size}, {size}, 4) uint8, got {hints.shape}")
        packed = zlib.compress(np.ascontiguousarray(hints).tobytes(), 1)
        header["inputs"] = ["ink", "hints"]
        header["hints"] = {"size": size, "encoding": "zlib-rgba", "bytes": len(packed)}
        payload += packed
    return pack(header, payload)


def _field(header: dict, name: str, kinds: tuple[type, ...], optional: bool = False):
    value = header.get(name)
    if value is None and optional:
        return None
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise ProtocolError(f"'{name}' must be {' or '.join(k.__name__ for k in kinds)}")
    return value


def decode_request(header: dict, payload: memoryview, resolution: int) -> SnapshotRequest:
    """Check every field and decode the snapshot, never inflating more than the size says."""
    if header.get("type") != "generate":
        raise ProtocolError(f"unknown message type {header.get('type')!r}")
    request_id = _field(header, "id", (int,))
    if not 0 <= request_id < 2**53:
        raise ProtocolError("'id' is out of range")
    size = _field(header, "size", (int,))
    if not 1 <= size <= MAX_SNAPSHOT_SIDE:
        raise ProtocolError(f"'size' must be 1..{MAX_SNAPSHOT_SIDE}")
    inputs = header.get("inputs", ["ink"])
    if (
        not isinstance(inputs, list)
        or any(not isinstance(k, str) or k not in INPUT_KINDS for k in inputs)
        or len(set(inputs)) != len(inputs)
        or "ink" not in inputs
    ):
        raise ProtocolError("'inputs' must list 'ink' and maybe 'hints', once each")
    seed = _field(header, "seed", (int,), optional=True)
    if seed is not None and not 0 <= seed < 2**63:
        raise ProtocolError("'seed' is out of range")
    want_verdicts = bool(_field(header, "verdicts", (bool,), optional=True))
    frame = bool(_field(header, "frame", (bool,), optional=True))
    probe = header.get("probe")
    if probe is not None:
        if (
            not isinstance(probe, list)
            or len(probe) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in probe)
            or not all(0.0 <= v <= 1.0 for v in probe)
        ):
            raise ProtocolError("'probe' must be [y, x] fractions in [0, 1]")
        probe = (float(probe[0]), float(probe[1]))
    reply = header.get("reply", "raw")
    if reply not in ("raw", "png"):
        raise ProtocolError("'reply' must be 'raw' or 'png'")
    hints = None
    if "hints" in inputs:
        payload, hints = _split_hints(header, payload, size)
    elif "hints" in header:
        raise ProtocolError("'hints' is given but 'inputs' does not list it")
    encoding = header.get("encoding")
    if encoding == "zlib-u8":
        ink = _inflate(payload, size * size).reshape(size, size)
    elif encoding == "png":
        ink = _decode_png(payload, size)
    else:
        raise ProtocolError("'encoding' must be 'zlib-u8' or 'png'")
    if size != resolution:
        raise ProtocolError(f"the snapshot is {size} px; this model takes {resolution} px")
    return SnapshotRequest(
        request_id,
        ink.astype(np.float32) / 255.0,
        seed,
        want_verdicts,
        probe,
        reply == "png",
        hints,
        frame,
    )


def _split_hints(header: dict, payload: memoryview, size: int) -> tuple[memoryview, np.ndarray]:
    """(the ink's part of the payload, the hints as (size, size, 4) uint8 RGBA)."""
    spec = header.get("hints")
    if not isinstance(spec, dict) or set(spec) != {"size", "encoding", "bytes"}:
        raise ProtocolError("'hints' must be an object with 'size', 'encoding' and 'bytes'")
    hint_size = _field(spec, "size", (int,))
    if hint_size != size:
        raise ProtocolError(f"the hints are {hint_size!r} px; the snapshot is {size} px")
    n = _field(spec, "bytes", (int,))
    if not 0 < n < len(payload):
        raise ProtocolError("'hints' 'bytes' is out of bounds")
    ink, packed = payload[: len(payload) - n], payload[len(payload) - n :]
    encoding = spec.get("encoding")
    if encoding == "zlib-rgba":
        rgba = _inflate(packed, size * size * 4, "hints").reshape(size, size, 4)
    elif encoding == "png":
        rgba = _decode_png(packed, size, "RGBA", "hints")
    else:
        raise ProtocolError("'hints' 'encoding' must be 'zlib-rgba' or 'png'")
    return ink, rgba.copy()


def _inflate(payload: memoryview, expected: int, what: str = "snapshot") -> np.ndarray:
    d = zlib.decompressobj()
    try:
        raw = d.decompress(bytes(payload), expected + 1)  # bounded: a zip bomb stops here
    except zlib.error as exc:
        raise ProtocolError(f"{what} is not zlib data ({exc})") from None
    if len(raw) != expected or d.unconsumed_tail:
        raise ProtocolError(f"{what} holds {len(raw)} bytes; its size says {expected}")
    return np.frombuffer(raw, np.uint8)


def _decode_png(
    payload: memoryview, size: int, mode: str = "L", what: str = "snapshot"
) -> np.ndarray:
    """A `size`×`size` PNG's pixels in `mode`; for "L" the ink (255 - grey)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(bytes(payload))) as im:
            if im.format != "PNG" or im.size != (size, size):
                raise ProtocolError(f"{what} must be a {size}×{size} PNG")
            pixels = np.asarray(im.convert(mode), np.uint8)
    except (OSError, Image.DecompressionBombError, ValueError, SyntaxError, EOFError) as exc:
        raise ProtocolError(f"{what} is not a readable PNG ({exc})") from None
    return 255 - pixels if mode == "L" else pixels  # dark lines on white → ink


# -- results ----------------------------------------------------------------------------------


@dataclass
class RemoteResult:
    """A decoded result: uint8 (R, R, 3) picture, optional maps, the server's timings."""

    request_id: int
    image: np.ndarray
    verdicts: list[tuple[str, np.ndarray]] | None
    attention: dict[int, np.ndarray] | None
    timings: dict[str, float]
    batch_size: int
    frame: tuple[float, float, float, float] | None = None
    """(y, x, side, thin) of the frame a small drawing was painted in, or None."""


def encode_result(
    request_id: int,
    image: np.ndarray,
    verdicts: list[tuple[str, np.ndarray]] | None,
    attention: dict[int, np.ndarray] | None,
    timings: dict[str, float],
    batch_size: int,
    png: bool = False,
    frame: tuple[float, float, float, float] | None = None,
) -> bytes:
    if png:
        from PIL import Image

        buf = io.BytesIO()
        Image.fromarray(image).save(buf, format="PNG", compress_level=1)
        picture, encoding = buf.getvalue(), "png"
    else:
        picture, encoding = zlib.compress(np.ascontiguousarray(image).tobytes(), 1), "zlib-rgb"
    maps: list[bytes] = []
    verdict_header = None
    if verdicts is not None:
        verdict_header = []
        for label, m in verdicts:
            verdict_header.append([label, int(m.shape[0]), int(m.shape[1])])
            maps.append(np.ascontiguousarray(m, "<f4").tobytes())
    attention_header = None
    if attention is not None:
        attention_header = []
        for level, m in attention.items():
            attention_header.append([int(level), int(m.shape[0]), int(m.shape[1])])
            maps.append(np.ascontiguousarray(m, "<f4").tobytes())
    header = {
        "type": "result",
        "id": request_id,
        "size": int(image.shape[0]),
        "encoding": encoding,
        "image_bytes": len(picture),
        "verdicts": verdict_header,
        "attention": attention_header,
        "timings": {k: round(float(v), 3) for k, v in timings.items()},
        "batch_size": batch_size,
    }
    if frame is not None:
        header["frame"] = [float(v) for v in frame]
    return pack(header, picture + b"".join(maps))


def decode_result(header: dict, payload: memoryview) -> RemoteResult:
    """The client's side: a result from the server, checked like anything from the network."""
    size = _field(header, "size", (int,))
    if not 1 <= size <= MAX_SNAPSHOT_SIDE * 2:
        raise ProtocolError("result 'size' is out of range")
    n = _field(header, "image_bytes", (int,))
    if not 0 <= n <= len(payload):
        raise ProtocolError("result 'image_bytes' is out of bounds")
    picture = payload[:n]
    if header.get("encoding") == "zlib-rgb":
        image = _inflate(picture, size * size * 3).reshape(size, size, 3)
    elif header.get("encoding") == "png":
        from PIL import Image

        try:
            with Image.open(io.BytesIO(bytes(picture))) as im:
                image = np.asarray(im.convert("RGB"), np.uint8)
        except OSError as exc:
            raise ProtocolError(f"result picture is not a PNG ({exc})") from None
    else:
        raise ProtocolError("result 'encoding' must be 'zlib-rgb' or 'png'")
    offset = n

    def take(h: int, w: int) -> np.ndarray:
        nonlocal offset
        if not (0 < h <= 4096 and 0 < w <= 4096) or offset + h * w * 4 > len(payload):
            raise ProtocolError("result map is out of bounds")
        out = np.frombuffer(bytes(payload[offset : offset + h * w * 4]), "<f4").reshape(h, w)
        offset += h * w * 4
        return out.astype(np.float32)

    verdicts = None
    if header.get("verdicts") is not None:
        verdicts = [(str(label), take(h, w)) for label, h, w in header["verdicts"]]
    attention = None
    if header.get("attention") is not None:
        attention = {int(level): take(h, w) for level, h, w in header["attention"]}
    timings = header.get("timings") or {}
    frame = _result_frame(header.get("frame"))
    return RemoteResult(
        _field(header, "id", (int,)),
        image.copy(),
        verdicts,
        attention,
        {str(k): float(v) for k, v in timings.items() if isinstance(v, (int, float))},
        int(header.get("batch_size") or 1),
        frame,
    )


def _result_frame(value) -> tuple[float, float, float, float] | None:
    """A result's "frame": absent, null, or [y, x, side, thin] with y, x in [0, 1], side in
    (0, 1] and thin in [0, 16]."""
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or len(value) != 4
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    ):
        raise ProtocolError("result 'frame' must be [y, x, side, thin]")
    y, x, side, thin = (float(v) for v in value)
    if not (0.0 <= y <= 1.0 and 0.0 <= x <= 1.0 and 0.0 < side <= 1.0 and 0.0 <= thin <= 16.0):
        raise ProtocolError("result 'frame' is out of range")
    return y, x, side, thin
