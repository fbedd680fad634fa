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
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)
    return p


def _fmt(report: dict) -> str:
    lines = [f"device: {report['device']} ({report['threads']} threads)", "latency (ms):"]
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
            f"{live['stroke_end_latency']['median_ms']:.1f} ms median; "
            f"canvas frame {live['frame']['median_ms']:.1f} ms median, "
            f"{live['frame']['max_ms']:.1f} max"
        )
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
    print(json.dumps(report, indent=2) if args.json else _fmt(report))
    return 0
