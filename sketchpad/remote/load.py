"""Simulated artists for `sketchpad bench --server`: N clients on one event loop, each drawing
a changing sketch and, like the app, sending its next snapshot as soon as the last picture came
back. Traffic stays bounded: N ≤ 256 clients, at most `seconds` long."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from websockets.asyncio.client import connect

from sketchpad.errors import SketchpadError
from sketchpad.remote import protocol

MAX_CLIENTS = 256
MAX_SECONDS = 600.0


@dataclass
class ClientLog:
    replies: int = 0
    errors: int = 0
    round_trips_ms: list[float] = field(default_factory=list)
    batch_sizes: list[int] = field(default_factory=list)


def stroke_frames(resolution: int, frames: int, seed: int) -> list[np.ndarray]:
    """A stroke growing frame by frame (a random walk of 3 px dabs): (R, R) ink snapshots."""
    rng = np.random.default_rng(seed)
    ink = np.zeros((resolution, resolution), np.float32)
    y, x = rng.uniform(0.2, 0.8, 2) * resolution
    heading = rng.uniform(0, 2 * np.pi)
    out = []
    for _ in range(frames):
        for _ in range(4):
            heading += rng.normal(0, 0.4)
            y = float(np.clip(y + 2 * np.sin(heading), 2, resolution - 3))
            x = float(np.clip(x + 2 * np.cos(heading), 2, resolution - 3))
            ink[int(y) - 1 : int(y) + 2, int(x) - 1 : int(x) + 2] = 1.0
        out.append(ink.copy())
    return out


async def _artist(
    url: str, token: str, resolution: int, seed: int, deadline: float, log: ClientLog
) -> None:
    frames = stroke_frames(resolution, 64, seed)
    try:
        async with connect(
            url,
            additional_headers={"Authorization": f"Bearer {token}"},
            compression=None,
            max_size=64 * 1024 * 1024,
            open_timeout=30,
        ) as ws:
            await ws.recv()  # hello
            i = 0
            while time.monotonic() < deadline:
                message = protocol.encode_request(i, frames[i % len(frames)], seed=seed)
                start = time.perf_counter()
                await ws.send(message)
                while True:
                    reply = await asyncio.wait_for(ws.recv(), timeout=60)
                    if isinstance(reply, str):
                        log.errors += 1
                        break
                    header, _ = protocol.unpack(reply)
                    if header.get("id") == i:
                        log.replies += 1
                        log.round_trips_ms.append((time.perf_counter() - start) * 1000.0)
                        log.batch_sizes.append(int(header.get("batch_size") or 1))
                        break
                i += 1
    except Exception:  # a refused, dropped or malformed connection is counted, not raised
        log.errors += 1


async def _simulate(url: str, token: str, resolution: int, clients: int, seconds: float):
    logs = [ClientLog() for _ in range(clients)]
    start = time.monotonic()
    deadline = start + seconds
    await asyncio.gather(
        *(_artist(url, token, resolution, 1000 + i, deadline, logs[i]) for i in range(clients))
    )
    return logs, time.monotonic() - start


def simulate(url: str, token: str, resolution: int, clients: int, seconds: float) -> dict:
    """Run the artists against `url`; the report has the keys `sketchpad bench --server`
    prints (see the README)."""
    if not 1 <= clients <= MAX_CLIENTS:
        raise SketchpadError(f"--clients must be 1..{MAX_CLIENTS}")
    if not 0 < seconds <= MAX_SECONDS:
        raise SketchpadError(f"--seconds must be above 0 and at most {MAX_SECONDS:g}")
    logs, elapsed = asyncio.run(_simulate(url, token, resolution, clients, seconds))
    fps = [log.replies / elapsed for log in logs]
    trips = sorted(t for log in logs for t in log.round_trips_ms)
    sizes = [b for log in logs for b in log.batch_sizes]
    return {
        "clients": clients,
        "seconds": round(elapsed, 2),
        "fps_per_client": {
            "min": round(min(fps), 2),
            "median": round(statistics.median(fps), 2),
        },
        "total_fps": round(sum(fps), 2),
        "latency_ms": {
            "median": round(statistics.median(trips), 1) if trips else None,
            "p95": round(trips[min(len(trips) - 1, int(0.95 * len(trips)))], 1) if trips else None,
        },
        "batch_size": {
            "mean": round(statistics.fmean(sizes), 2) if sizes else None,
            "max": max(sizes) if sizes else None,
        },
        "errors": sum(log.errors for log in logs),
    }


@contextlib.contextmanager
def local_server(
    model: Path | None, device: str, max_batch: int, max_clients: int
) -> Iterator[tuple[str, str]]:
    """A `sketchpad serve` child on 127.0.0.1 (a port it picks) with a one-off token; yields
    (url, token) and stops it (SIGTERM) afterwards."""
    from sketchpad.process import self_command

    token = secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory(prefix="sketchpad-bench-") as tmp:
        token_file = Path(tmp) / "token"
        token_file.write_text(token)
        os.chmod(token_file, 0o600)
        args = ["serve", "--host", "127.0.0.1", "--port", "0", "--token-file", str(token_file)]
        args += ["--device", device, "--max-batch", str(max_batch)]
        args += ["--max-clients", str(max_clients), "--max-rate", "1000"]
        if model is not None:
            args += ["--model", str(model)]
        program, argv = self_command(*args)
        child = subprocess.Popen(
            [program, *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            url = None
            assert child.stdout is not None
            for line in child.stdout:
                m = re.match(r"listening on (ws://\S+)", line)
                if m:
                    url = m.group(1)
                    break
            if url is None:
                raise SketchpadError("the local server did not start (run `sketchpad serve`)")
            yield url, token
        finally:
            child.terminate()
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
