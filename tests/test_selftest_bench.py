"""`--self-test` and `bench` on a tiny model (structure and behaviour; no timing asserts)."""

from __future__ import annotations

import pytest
import torch
from PIL import Image, ImageDraw

from models import DiscriminatorConfig, GeneratorConfig, build_discriminator, build_generator
from sketchpad import paths
from sketchpad.bench import run_bench
from sketchpad.checkpoint import save_model
from sketchpad.cli import main


@pytest.fixture
def tiny_assets(tmp_path, monkeypatch):
    g_cfg = GeneratorConfig(
        resolution=64,
        base_width=4,
        max_width=8,
        depth=3,
        attention_levels=(1,),
        highres_widths=(4,),
    )
    d_cfg = DiscriminatorConfig(ndf=4, branches=2, resolution=64)
    torch.manual_seed(0)
    model = save_model(
        tmp_path / "m.safetensors",
        build_generator(g_cfg).eval(),
        g_cfg,
        build_discriminator(d_cfg).eval(),
        d_cfg,
    )
    examples = tmp_path / "examples"
    examples.mkdir()
    im = Image.new("L", (200, 200), 255)
    ImageDraw.Draw(im).ellipse((30, 30, 170, 170), outline=0, width=6)
    im.save(examples / "circle.png")
    monkeypatch.setattr(paths, "default_model_path", lambda: model)
    monkeypatch.setattr(paths, "examples_dir", lambda: examples)
    monkeypatch.setenv("SKETCHPAD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("SKETCHPAD_DATA_DIR", str(tmp_path / "data"))
    return model


@pytest.mark.slow
def test_self_test_passes_and_reports_timings(tiny_assets, capsys):
    assert main(["--self-test"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("self-test ok:") and "generate" in out and "train" in out


def test_self_test_fails_without_a_model(tiny_assets, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(paths, "default_model_path", lambda: tmp_path / "none.safetensors")
    assert main(["--self-test"]) == 1
    assert "default model is missing" in capsys.readouterr().err


@pytest.mark.slow
def test_bench_reports_every_measure(tiny_assets):
    threads_before = torch.get_num_threads()
    report = run_bench(
        tiny_assets,
        device="cpu",
        repeat=2,
        train_steps=1,
        resolutions=(64, 32),
        matmul_size=128,
        threads=1,
    )
    assert report["threads"] == 1 and torch.get_num_threads() == threads_before
    assert report["model"].endswith(f"({tiny_assets.name})")  # no folder of this machine
    for name in ("default_64", "unet_64", "default_32", "unet_32"):
        modes = report["latency"][name]
        assert "fp32" in modes and len(modes) == 2
        assert all(m["median_ms"] > 0 and m["p95_ms"] >= m["median_ms"] for m in modes.values())
    assert report["ratio_default_to_unet"]["resolution"] == 64
    assert report["generator_gflop"] > 0 and report["fraction_of_peak"] > 0
    assert report["fast_path_mean_abs_diff"] < 0.02
    assert report["discriminator"]["with_verdicts_ms"] > 0
    assert set(report["training_images_per_s"]) >= {"fp32"}
    assert "live" not in report
    cpu = report["cpu"]
    assert cpu["model"] and cpu["isa"]
    assert isinstance(cpu["bf16"], bool)
    full = report["full_picture"]
    assert (full["resolution"], full["output_resolution"]) == (64, 128)
    assert report["final_picture_ms"] == full["final_picture_ms"] > 0 and full["levels_ms"] > 0
    assert report["ratio_final_to_preview"] == pytest.approx(
        full["final_picture_ms"] / full["preview_ms"]
    )


def test_live_loop_measures_through_the_gui(tiny_assets, qapp):
    from sketchpad.ui.bench_live import live_loop_latency

    live = live_loop_latency(tiny_assets, strokes=2, frames=5)
    assert live["latency"]["median_ms"] > 0 and live["stroke_end_latency"]["p95_ms"] > 0
    # the full picture comes after the preview of the final sketch
    assert live["final_latency"]["median_ms"] >= live["stroke_end_latency"]["median_ms"]
    assert live["frame"]["frames"] == 5 and live["frame"]["max_ms"] >= live["frame"]["median_ms"]


@pytest.mark.slow
def test_first_picture_is_timed_by_launching_the_app(tiny_assets):
    from sketchpad.bench import first_picture_seconds

    first = first_picture_seconds(tiny_assets, runs=1)
    assert len(first["runs_s"]) == 1 and 0 < first["median_s"] < 120
