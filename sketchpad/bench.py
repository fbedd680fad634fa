"""`sketchpad bench`: where the live loop's time goes, on the machine at hand.

Everything is measured in one run so that ratios compare like with like: the default
generator (fp32 eager vs the fast path the app uses) beside pix2pix's U-Net, the machine's
matmul peak, the generator's FLOPs and achieved rate, the discriminator's extra cost per frame,
training images/s, and (when asked) the end-to-end loop through the real GUI code.
"""

from __future__ import annotations

import copy
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from models import GeneratorConfig, UNetGenerator, build_discriminator, build_generator
from sketchpad.checkpoint import LoadedModel, load_model
from sketchpad.devices import (
    app_threads,
    choose_precision,
    cpu_has_bf16,
    describe_device,
    resolve_device,
    torch_threads,
)
from sketchpad.engine import Engine, Request


def timed(fn: Callable[[], Any], *, repeat: int, warmup: int = 3, sync=None) -> dict[str, float]:
    """Median and p95 milliseconds of `fn` over `repeat` calls after `warmup` calls."""
    for _ in range(warmup):
        fn()
    if sync:
        sync()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        if sync:
            sync()
        times.append((time.perf_counter() - t) * 1000.0)
    times.sort()
    return {
        "median_ms": statistics.median(times),
        "p95_ms": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))],
    }


def count_flops(module: nn.Module, *inputs: torch.Tensor) -> int:
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        module(*inputs)
    return int(counter.get_total_flops())


def matmul_peak(device: torch.device, dtype: torch.dtype, n: int = 2048) -> float:
    """Measured GFLOP/s of an n×n×n matrix multiply."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    sync = torch.cuda.synchronize if device.type == "cuda" else None
    t = timed(lambda: a @ b, repeat=10, warmup=2, sync=sync)
    return 2 * n**3 / (t["median_ms"] / 1000) / 1e9


def cpu_info() -> dict[str, Any]:
    """The CPU in words: its model name, its widest vector ISA (amx, avx512, avx2 or other),
    whether oneDNN runs bf16 natively on it, and PyTorch's own dispatch level."""
    name, flags = platform.processor() or platform.machine(), set()
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        if m := re.search(r"^model name\s*:\s*(.+)$", text, re.M):
            name = m.group(1).strip()
        if m := re.search(r"^flags\s*:\s*(.+)$", text, re.M):
            flags = set(m.group(1).split())
    except OSError:
        pass
    if "amx_bf16" in flags or "amx_tile" in flags:
        isa = "amx"
    elif "avx512f" in flags:
        isa = "avx512"
    elif "avx2" in flags:
        isa = "avx2"
    else:
        isa = platform.machine()
    return {
        "model": name,
        "isa": isa,
        "bf16": cpu_has_bf16(),
        "avx512_bf16": "avx512_bf16" in flags,
        "torch_capability": torch.backends.cpu.get_cpu_capability(),
        "cores": os.cpu_count(),
    }


def full_picture_latency(model: LoadedModel, device: str, repeat: int) -> dict[str, Any]:
    """The app's two steps through its engine: the trunk's preview, the full picture from a
    sketch (trunk and levels), and the levels alone on the kept trunk."""
    engine = Engine(model, device, "auto")
    r, full = engine.resolution, engine.output_resolution
    gen = torch.Generator().manual_seed(0)
    big = (torch.rand(1, full, full, generator=gen) > 0.97).float()
    small = torch.nn.functional.adaptive_avg_pool2d(big, (r, r))
    sync = torch.cuda.synchronize if engine.device.type == "cuda" else None
    ids = iter(range(1, 10**9))
    preview = timed(lambda: engine.run(Request(next(ids), small)), repeat=repeat, sync=sync)
    final = timed(
        lambda: engine.run(Request(next(ids), small, full_sketch=big)), repeat=repeat, sync=sync
    )
    kept = Request(0, small, full_sketch=big)
    engine.run(kept)
    levels = timed(lambda: engine.run_full(kept), repeat=repeat, sync=sync)
    return {
        "resolution": r,
        "output_resolution": full,
        "precision": engine.precision.name,
        "preview_ms": preview["median_ms"],
        "final_picture_ms": final["median_ms"],
        "levels_ms": levels["median_ms"],
        "ratio_final_to_preview": final["median_ms"] / preview["median_ms"],
    }


def first_picture_seconds(model_path: Path, runs: int = 3) -> dict[str, Any]:
    """Launch the app (offscreen, fresh user folders) `runs` times; the seconds from process
    start to the first picture shown, median and each."""
    times = []
    with tempfile.TemporaryDirectory(prefix="sketchpad-first-") as tmp:
        env = {
            **os.environ,
            "QT_QPA_PLATFORM": "offscreen",
            "SKETCHPAD_DATA_DIR": str(Path(tmp) / "data"),
            "SKETCHPAD_CONFIG_DIR": str(Path(tmp) / "config"),
        }
        command = [sys.executable, "-m", "sketchpad", "--model", str(model_path)]
        for _ in range(runs):
            out = subprocess.run(
                [*command, "--quit-after-first-frame"],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            m = re.search(r"first picture shown ([0-9.]+) s", out.stdout)
            if m is None:
                raise RuntimeError(f"the app showed no picture: {out.stderr.strip()[-300:]}")
            times.append(float(m.group(1)))
    return {"median_s": statistics.median(times), "runs_s": times}


def _engine_for(generator: nn.Module, config: GeneratorConfig, device: str, precision: str):
    model = LoadedModel(generator.eval(), config)
    return Engine(model, device, precision)


def generator_latency(
    generator: nn.Module, config: GeneratorConfig, resolution: int, device: str, repeat: int
) -> dict[str, Any]:
    """fp32 eager vs the fast path, through the engine the app uses."""
    out: dict[str, Any] = {}
    sketch = (torch.rand(1, resolution, resolution) > 0.9).float()
    for mode in ("fp32", "auto"):
        engine = _engine_for(copy.deepcopy(generator), config, device, mode)
        sync = torch.cuda.synchronize if engine.device.type == "cuda" else None
        stats = timed(lambda e=engine: e.run(Request(0, sketch)), repeat=repeat, sync=sync)
        out["fp32" if mode == "fp32" else f"fast ({engine.precision.name})"] = stats
    return out


def fast_path_error(generator: nn.Module, config: GeneratorConfig, device: str) -> float:
    """Mean absolute difference (in [0, 1] image units) of the fast path against fp32."""
    r = config.resolution
    sketch = (torch.rand(1, r, r, generator=torch.Generator().manual_seed(0)) > 0.9).float()
    a = _engine_for(copy.deepcopy(generator), config, device, "fp32").run(Request(0, sketch))
    b = _engine_for(copy.deepcopy(generator), config, device, "auto").run(Request(0, sketch))
    return float(abs(a.image.astype("float32") - b.image.astype("float32")).mean() / 255.0)


def discriminator_cost(model: LoadedModel, device: str, repeat: int) -> dict[str, Any]:
    engine = Engine(model, device, "auto")
    r = model.resolution
    sketch = (torch.rand(1, r, r) > 0.9).float()
    plain = timed(lambda: engine.run(Request(0, sketch)), repeat=repeat)
    with_d = timed(lambda: engine.run(Request(0, sketch, want_verdicts=True)), repeat=repeat)
    return {
        "without_ms": plain["median_ms"],
        "with_verdicts_ms": with_d["median_ms"],
        "extra_ms": with_d["median_ms"] - plain["median_ms"],
    }


def training_rate(model: LoadedModel, steps: int, batch: int) -> dict[str, float]:
    """Images/s of the trainer's own step on random pairs at the model's resolution."""
    from sketchpad.train.config import build_config
    from sketchpad.train.run import training_device
    from sketchpad.train.step import GanStep

    out = {}
    r = model.resolution
    sketch = (torch.rand(batch, 1, r, r) > 0.9).float()
    real = torch.rand(batch, 3, r, r) * 2 - 1
    for precision in ("fp32", "auto"):
        config = build_config(None, {"precision": precision, "resolution": r, "batch": batch})
        gan = GanStep(
            config,
            build_generator(model.generator_config),
            build_discriminator(model.discriminator_config),
            *training_device(config),
        )
        gan.train_step(sketch, real)  # warm-up: kernel selection
        t = time.perf_counter()
        for _ in range(steps):
            gan.train_step(sketch, real)
        out["fp32" if precision == "fp32" else gan.precision.name] = (
            steps * batch / (time.perf_counter() - t)
        )
    return out


def run_bench(
    model_path: Path,
    *,
    device: str = "auto",
    repeat: int = 30,
    train_steps: int = 3,
    resolutions: tuple[int, ...] = (128, 256),
    matmul_size: int = 2048,
    train_batch: int = 8,
    threads: int | None = None,
) -> dict[str, Any]:
    """Every measure but the live loop through the GUI (the `bench` command adds that with
    `add_live_loop`). `threads` (default: as many as the app uses, `app_threads()`) is set for
    the whole run, so the latencies are those of the app's inference path; the caller's count
    is restored."""
    with torch_threads(threads or app_threads()):
        model = load_model(model_path)
        dev = resolve_device(device)
        precision = choose_precision(dev, "auto")
        report: dict[str, Any] = {
            "device": describe_device(dev, precision),
            "threads": torch.get_num_threads(),
            "model": f"{model.name} ({model_path.name})",
            "cpu": cpu_info(),
        }
        g_cfg = model.generator_config
        latency: dict[str, Any] = {}
        for res in resolutions:
            cfg_res = GeneratorConfig(**{**g_cfg.__dict__, "resolution": res})
            latency[f"default_{res}"] = generator_latency(
                model.generator, cfg_res, res, device, repeat
            )
            unet = UNetGenerator(GeneratorConfig.pix2pix_unet(res)).eval()
            latency[f"unet_{res}"] = generator_latency(unet, unet.config, res, device, repeat)
        report["latency"] = latency
        base = resolutions[0]
        fast_key = next(k for k in latency[f"default_{base}"] if k.startswith("fast"))
        report["ratio_default_to_unet"] = {
            "resolution": base,
            "ratio": latency[f"default_{base}"][fast_key]["median_ms"]
            / latency[f"unet_{base}"][fast_key]["median_ms"],
        }
        report["fast_path_mean_abs_diff"] = fast_path_error(model.generator, g_cfg, device)

        peaks = {"fp32": matmul_peak(dev, torch.float32, matmul_size)}
        if precision.dtype != torch.float32:
            peaks[precision.name] = matmul_peak(dev, precision.dtype, matmul_size)
        report["matmul_peak_gflops"] = peaks
        r = g_cfg.resolution
        flops = count_flops(model.generator, torch.rand(1, g_cfg.in_channels, r, r))
        generator_ms = latency[f"default_{r}"][fast_key]["median_ms"] if r in resolutions else None
        if generator_ms is None:
            cfg = GeneratorConfig(**{**g_cfg.__dict__})
            generator_ms = generator_latency(model.generator, cfg, r, device, repeat)[fast_key][
                "median_ms"
            ]
        achieved = flops / (generator_ms / 1000) / 1e9
        report["generator_gflop"] = flops / 1e9
        report["achieved_gflops"] = achieved
        report["fraction_of_peak"] = achieved / peaks.get(precision.name, peaks["fp32"])

        full = full_picture_latency(model, device, repeat)
        report["full_picture"] = full
        report["final_picture_ms"] = full["final_picture_ms"]
        report["ratio_final_to_preview"] = full["ratio_final_to_preview"]
        if model.discriminator is not None:
            report["discriminator"] = discriminator_cost(model, device, repeat)
        report["training_images_per_s"] = training_rate(model, train_steps, train_batch)
        if torch.cuda.is_available():
            report["cuda"] = {
                f"default_{res}": generator_latency(
                    model.generator,
                    GeneratorConfig(**{**g_cfg.__dict__, "resolution": res}),
                    res,
                    "cuda",
                    repeat,
                )
                for res in (128, 256, 512)
            }
        return report


def add_live_loop(report: dict[str, Any], live: dict[str, Any]) -> None:
    """Put the GUI's live-loop measurement (`sketchpad.ui.bench_live`) into a `run_bench`
    report, with its ratio to the bare generator at 128 px."""
    generator = report["latency"]["default_128"]
    fast_key = next(k for k in generator if k.startswith("fast"))
    report["live"] = live
    report["ratio_live_to_generator"] = (
        live["latency"]["median_ms"] / generator[fast_key]["median_ms"]
    )
    report["ratio_stroke_end_to_generator"] = (
        live["stroke_end_latency"]["median_ms"] / generator[fast_key]["median_ms"]
    )
