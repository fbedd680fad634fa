"""`sketchpad bench`: latency, peak, FLOPs, live-loop and training measurements in one run."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "bench",
        help="measure the live loop and the networks",
        description="Measure, in one run: generator latency (fp32 vs the fast "
        "path) beside pix2pix's U-Net, the matmul peak, FLOPs and achieved rate, "
        "the discriminator's extra cost, training images/s, and the live loop "
        "through the real GUI code (offscreen).",
    )
    p.add_argument("--model", help="model file (default: the built-in model)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    p.add_argument("--repeat", type=int, default=30, help="timed runs per measurement")
    p.add_argument("--train-steps", type=int, default=3)
    p.add_argument(
        "--threads",
        type=int,
        help="CPU threads for the whole run (default: as many as the app uses, all cores but one)",
    )
    p.add_argument("--no-gui", action="store_true", help="skip the end-to-end GUI loop")
    p.add_argument(
        "--first-picture-runs",
        type=int,
        default=3,
        help="launches of the app to time the first picture (0: skip)",
    )
    load = p.add_argument_group(
        "remote generator load (with --server or --clients: simulated artists instead)"
    )
    load.add_argument("--server", help="ws:// or wss:// URL of a `sketchpad serve`")
    load.add_argument("--token", help="the server's token (or --token-file)")
    load.add_argument("--token-file", help="file holding the server's token")
    load.add_argument(
        "--clients", type=int, help="simulated artists, each streaming a changing sketch"
    )
    load.add_argument("--seconds", type=float, default=10.0, help="length of the load run")
    load.add_argument(
        "--max-batch",
        type=int,
        default=16,
        help="without --server: the local server's batch cap (1 = one request at a time)",
    )
    load.add_argument(
        "--compare-unbatched",
        action="store_true",
        help="without --server: run again with a batch cap of 1 and report the throughput gain",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)
    return p


def _fmt(report: dict) -> str:
    cpu = report["cpu"]
    lines = [
        f"cpu: {cpu['model']}, {cpu['isa']}, bf16 {'yes' if cpu['bf16'] else 'no'}",
        f"device: {report['device']} ({report['threads']} threads)",
        "latency (ms):",
    ]
    for name, modes in report["latency"].items():
        parts = ", ".join(
            f"{m} {v['median_ms']:.1f} median / {v['p95_ms']:.1f} p95" for m, v in modes.items()
        )
        lines.append(f"  {name:12} {parts}")
    ratio = report["ratio_default_to_unet"]
    lines.append(f"default/unet at {ratio['resolution']} (fast path): {ratio['ratio']:.2f}")
    lines.append(f"fast path vs fp32, mean abs diff: {report['fast_path_mean_abs_diff']:.4f}")
    peaks = ", ".join(f"{k} {v:.0f}" for k, v in report["matmul_peak_gflops"].items())
    lines.append(f"matmul peak GFLOP/s: {peaks}")
    lines.append(
        f"generator: {report['generator_gflop']:.2f} GFLOP per frame, "
        f"{report['achieved_gflops']:.0f} GFLOP/s = "
        f"{100 * report['fraction_of_peak']:.1f}% of peak"
    )
    full = report["full_picture"]
    lines.append(
        f"picture at {full['output_resolution']} px: {full['final_picture_ms']:.1f} ms from a "
        f"sketch ({full['levels_ms']:.1f} ms on the kept trunk), "
        f"{full['ratio_final_to_preview']:.2f}x the {full['resolution']} px preview "
        f"({full['preview_ms']:.1f} ms)"
    )
    if "discriminator" in report:
        d = report["discriminator"]
        lines.append(
            f"verdicts: +{d['extra_ms']:.1f} ms per frame "
            f"({d['without_ms']:.1f} -> {d['with_verdicts_ms']:.1f})"
        )
    tr = ", ".join(f"{k} {v:.1f}" for k, v in report["training_images_per_s"].items())
    lines.append(f"training images/s: {tr}")
    if "live" in report:
        live = report["live"]
        lines.append(
            f"live loop: {live['latency']['median_ms']:.1f} ms median, "
            f"{live['latency']['p95_ms']:.1f} p95 (event -> shown); "
            f"{report['ratio_live_to_generator']:.2f}x the bare generator; end of a quick stroke "
            f"{live['stroke_end_latency']['median_ms']:.1f} ms median "
            f"({report['ratio_stroke_end_to_generator']:.2f}x), its full picture "
            f"{live['final_latency']['median_ms']:.1f} ms; "
            f"canvas frame {live['frame']['median_ms']:.1f} ms median, "
            f"{live['frame']['max_ms']:.1f} max"
        )
    if "first_picture_s" in report:
        lines.append(f"first picture after launch: {report['first_picture_s']:.2f} s median")
    if "cuda" in report:
        for name, modes in report["cuda"].items():
            parts = ", ".join(f"{m} {v['median_ms']:.2f}" for m, v in modes.items())
            lines.append(f"  cuda {name}: {parts}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from sketchpad.bench import add_live_loop, run_bench
    from sketchpad.devices import torch_threads
    from sketchpad.errors import ModelFileError
    from sketchpad.paths import default_model_path

    if args.server or args.clients:
        report = _load_bench(args)
        print(json.dumps(report, indent=2) if args.json else _fmt_load(report))
        return 0
    path = Path(args.model) if args.model else default_model_path()
    if not path.is_file():
        raise ModelFileError(f"no model file at {path}; pass --model")
    report = run_bench(
        path,
        device=args.device,
        repeat=args.repeat,
        train_steps=args.train_steps,
        threads=args.threads,
    )
    if not args.no_gui:
        from sketchpad.ui.bench_live import live_loop_latency  # the one GUI measure

        with torch_threads(report["threads"]):
            add_live_loop(report, live_loop_latency(path))
    if args.first_picture_runs > 0:
        from sketchpad.bench import first_picture_seconds

        first = first_picture_seconds(path, args.first_picture_runs)
        report["first_picture"] = first
        report["first_picture_s"] = first["median_s"]
    print(json.dumps(report, indent=2) if args.json else _fmt(report))
    return 0


def _load_bench(args: argparse.Namespace) -> dict:
    from pathlib import Path

    from sketchpad.remote.client import RemoteEngine
    from sketchpad.remote.load import local_server, simulate
    from sketchpad.remote.token import token_from_options

    clients = args.clients or 1
    if args.server:
        token = token_from_options(args.token, args.token_file)
        probe = RemoteEngine(args.server, token)
        info, resolution = probe.info, probe.resolution
        probe.close()
        report = simulate(args.server, token, resolution, clients, args.seconds)
        report["server"] = {k: info.get(k) for k in ("model", "device", "gpu", "batch_cap")}
        return report
    model = Path(args.model) if args.model else None
    caps = [args.max_batch] + ([1] if args.compare_unbatched and args.max_batch != 1 else [])
    runs = []
    for cap in caps:
        with local_server(model, args.device, cap, max(clients, 1)) as (url, token):
            probe = RemoteEngine(url, token)
            info, resolution = probe.info, probe.resolution
            probe.close()
            report = simulate(url, token, resolution, clients, args.seconds)
            report["server"] = {k: info.get(k) for k in ("model", "device", "gpu", "batch_cap")}
            runs.append(report)
    out = runs[0]
    if len(runs) > 1:
        out["unbatched"] = runs[1]
        base = runs[1]["total_fps"]
        out["throughput_gain"] = round(out["total_fps"] / base, 2) if base else None
    return out


def _fmt_load(r: dict) -> str:
    s = r["server"]
    lines = [
        f"server: {s['model']} on {s['gpu'] or s['device']}, batch cap {s['batch_cap']}",
        f"{r['clients']} clients for {r['seconds']} s: {r['total_fps']} pictures/s in all, "
        f"{r['fps_per_client']['median']} per client (min {r['fps_per_client']['min']})",
        f"round trip: {r['latency_ms']['median']} ms median, {r['latency_ms']['p95']} ms p95",
        f"batch size: {r['batch_size']['mean']} mean, {r['batch_size']['max']} max; "
        f"errors: {r['errors']}",
    ]
    if "unbatched" in r:
        u = r["unbatched"]
        lines.append(
            f"one request at a time: {u['total_fps']} pictures/s, p95 {u['latency_ms']['p95']} ms;"
            f" batching gives {r['throughput_gain']}x the throughput"
        )
    return "\n".join(lines)
