"""`sketchpad serve`: run the generator for remote canvases (see `sketchpad.remote`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "serve",
        help="serve the generator to remote canvases over WebSocket",
        description="Run the generator for canvases on other machines (Model > Remote "
        "generator... in the app, or `generate --server`). Clients must present the token: "
        "one is made on the first start, printed once and kept in your user config folder. "
        "Binds to 127.0.0.1 unless --host says otherwise.",
    )
    p.add_argument("--model", help="model file (default: the built-in model)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    p.add_argument("--precision", default="auto", choices=("auto", "fp32"))
    p.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    p.add_argument(
        "--port", type=int, default=8765, help="port (default: %(default)s; 0 picks one)"
    )
    p.add_argument("--token-file", help="read the token from this file instead")
    p.add_argument("--certfile", help="TLS certificate (PEM); with --keyfile, serve wss://")
    p.add_argument("--keyfile", help="TLS private key (PEM)")
    p.add_argument(
        "--max-batch",
        type=int,
        default=16,
        help="most snapshots in one batch (default: %(default)s)",
    )
    p.add_argument(
        "--max-clients",
        type=int,
        default=64,
        help="most connections at once (default: %(default)s)",
    )
    p.add_argument(
        "--max-rate",
        type=float,
        default=60.0,
        help="snapshots a second one client may send (default: %(default)s)",
    )
    p.add_argument(
        "--max-message-mb",
        type=float,
        default=4.0,
        help="largest message accepted, in MiB (default: %(default)s)",
    )
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    import asyncio
    import logging
    import signal
    import ssl

    from sketchpad.checkpoint import load_model
    from sketchpad.engine import Engine
    from sketchpad.errors import ModelFileError, UsageError
    from sketchpad.paths import default_model_path
    from sketchpad.remote.server import GeneratorServer, ServerLimits
    from sketchpad.remote.token import default_token_path, load_or_create_token

    if not 0 <= args.port <= 65535:
        raise UsageError("--port must be 0..65535")
    if not 1 <= args.max_batch <= 256:
        raise UsageError("--max-batch must be 1..256")
    if not 1 <= args.max_clients <= 4096:
        raise UsageError("--max-clients must be 1..4096")
    if not 0 < args.max_rate <= 10_000:
        raise UsageError("--max-rate must be above 0 and at most 10000")
    if not 0.01 <= args.max_message_mb <= 256:
        raise UsageError("--max-message-mb must be 0.01..256")
    if bool(args.certfile) != bool(args.keyfile):
        raise UsageError("--certfile and --keyfile go together")
    context = None
    if args.certfile:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        try:
            context.load_cert_chain(args.certfile, args.keyfile)
        except (OSError, ssl.SSLError) as exc:
            raise UsageError(f"cannot load the TLS certificate or key ({exc})") from None
    token, made = load_or_create_token(Path(args.token_file) if args.token_file else None)
    model_path = Path(args.model) if args.model else default_model_path()
    if not args.model and not model_path.is_file():
        raise ModelFileError(f"the built-in model is missing ({model_path}); pass --model")
    engine = Engine(load_model(model_path), args.device, args.precision)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    logging.getLogger("sketchpad.serve.websockets").setLevel(logging.WARNING)
    if engine.fallback_reason:
        print(f"sketchpad serve: {engine.fallback_reason}", file=sys.stderr)
    limits = ServerLimits(
        batch_cap=args.max_batch,
        max_message_bytes=int(args.max_message_mb * 1024 * 1024),
        max_rate=args.max_rate,
        max_clients=args.max_clients,
    )
    server = GeneratorServer(engine, token, limits, context)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            port = await server.start(args.host, args.port)
        except OSError as exc:
            raise UsageError(f"cannot listen on {args.host}:{args.port} ({exc.strerror})") from None
        scheme = "wss" if context else "ws"
        if made:
            print(f"token (made now, kept in {default_token_path()}): {token}", flush=True)
        print(
            f"serving {engine.name} on {engine.describe()}, batches of up to {args.max_batch}",
            flush=True,
        )
        print(f"listening on {scheme}://{args.host}:{port}", flush=True)
        await stop.wait()
        print("stopping: finishing the batch in flight", file=sys.stderr, flush=True)
        await server.stop()

    asyncio.run(main())
    s = server.stats
    print(f"served {s.snapshots} snapshots in {s.batches} batches; stopped", file=sys.stderr)
    return 0
