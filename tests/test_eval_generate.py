"""Metrics against known values; `sketchpad eval` and `sketchpad generate` on a tiny model."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from conftest import TINY_G, save_tiny_model
from PIL import Image

from sketchpad import metrics
from sketchpad.cli import main
from sketchpad.evaluate import identity_images
from tests.train_helpers import make_paired

pytestmark = pytest.mark.usefixtures("isolated_user_dirs")


@pytest.fixture
def tiny_model(tmp_path):
    cfg = replace(TINY_G, attention_levels=(1,))
    return Path(save_tiny_model(tmp_path / "tiny.safetensors", cfg, None))


def test_psnr_l1_ssim_known_values():
    a = torch.zeros(2, 3, 16, 16)
    b = torch.full((2, 3, 16, 16), 0.1)
    assert metrics.l1(a, b).tolist() == pytest.approx([0.1, 0.1])
    assert metrics.psnr(a, b).tolist() == pytest.approx([20.0, 20.0], rel=1e-5)  # 10·log10(1/0.01)
    assert metrics.psnr(a, a).tolist() == [100.0, 100.0]
    x = torch.rand(1, 3, 24, 24)
    assert metrics.ssim(x, x).item() == pytest.approx(1.0, abs=1e-5)
    # SSIM of two constant images: luminance term only, (2·μa·μb + C1)/(μa² + μb² + C1)
    c1 = 0.01**2
    expected = (2 * 0.2 * 0.6 + c1) / (0.2**2 + 0.6**2 + c1)
    got = metrics.ssim(torch.full((1, 1, 16, 16), 0.2), torch.full((1, 1, 16, 16), 0.6))
    assert got.item() == pytest.approx(expected, rel=1e-4)
    assert metrics.ssim(x, 1 - x).item() < 0.5
    s = metrics.summarize([1.0, 2.0, 10.0])
    assert s == {"mean": pytest.approx(13 / 3), "median": 2.0}
    assert math.isnan(metrics.summarize([])["mean"])


def test_identity_baseline_is_black_ink_on_white():
    ink = torch.zeros(1, 1, 4, 4)
    ink[0, 0, 1, 2] = 1.0
    img = identity_images(ink)
    assert img.shape == (1, 3, 4, 4)
    assert img[0, :, 1, 2].tolist() == [0.0, 0.0, 0.0] and img[0, :, 0, 0].tolist() == [1, 1, 1]


def test_eval_command_reports_model_and_identity(tmp_path, tiny_model, capsys):
    data = make_paired(tmp_path / "pairs", count=30)
    grid = tmp_path / "grid.png"
    code = main(
        [
            "eval",
            "--model",
            str(tiny_model),
            "--data",
            f"paired:{data}",
            "--split",
            "all",
            "--limit",
            "6",
            "--json",
            "--grid",
            str(grid),
            "--grid-count",
            "3",
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["count"] == 6 and len(report["per_item"]) == 6
    for key in ("l1", "psnr", "ssim"):
        assert set(report["metrics"][key]) == {"mean", "median"}
        assert set(report["identity"][key]) == {"mean", "median"}
    # identity keeps the lines and misses the fill: better than an untrained network here
    assert report["identity"]["psnr"]["median"] > report["metrics"]["psnr"]["median"]
    assert Image.open(grid).size == (3 * 32, 3 * 32)


def test_generate_writes_results_and_skips_bad_files(tmp_path, tiny_model, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    Image.new("RGB", (50, 40), "white").save(folder / "a.png")
    Image.new("L", (64, 64), 200).save(folder / "b.jpg")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    out = tmp_path / "out"
    assert main(["generate", str(folder), "--model", str(tiny_model), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png"]
    assert Image.open(out / "a.png").size == (32, 32)
    assert "broken.png" in captured.err and "generated 2 of 3" in captured.out


def test_generate_with_only_bad_files_fails(tmp_path, tiny_model):
    bad = tmp_path / "x.png"
    bad.write_text("no")
    assert (
        main(["generate", str(bad), "--model", str(tiny_model), "--out", str(tmp_path / "o")]) == 1
    )
    assert (
        main(
            [
                "generate",
                str(bad),
                "--model",
                str(tmp_path / "none.safetensors"),
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )


def test_generate_on_an_absent_device_says_it_runs_on_the_cpu(
    tmp_path, tiny_model, capsys, monkeypatch
):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    sketch = tmp_path / "s.png"
    Image.new("L", (40, 40), 255).save(sketch)
    out = tmp_path / "out"
    argv = ["generate", str(sketch), "--model", str(tiny_model), "--out", str(out)]
    assert main([*argv, "--device", "cuda"]) == 0
    captured = capsys.readouterr()
    (line,) = captured.err.strip().splitlines()
    assert line.startswith("sketchpad generate: CUDA is not usable") and "using the CPU" in line
    assert "generated 1 of 1" in captured.out and "CPU" in captured.out
    assert (out / "s.png").is_file()
    assert main([*argv, "--device", "cpu"]) == 0
    assert capsys.readouterr().err == ""  # the device asked for runs: nothing to say


def test_a_folder_as_the_model_says_it_is_a_folder(tmp_path, tiny_model, capsys):
    sketch = tmp_path / "s.png"
    Image.new("L", (40, 40), 255).save(sketch)
    argv = ["generate", str(sketch), "--model", str(tmp_path), "--out", str(tmp_path / "o")]
    assert main(argv) == 2
    assert "is a folder, not a model file" in capsys.readouterr().err
    data = make_paired(tmp_path / "pairs", count=4)
    assert main(["eval", "--model", str(tmp_path), "--data", f"paired:{data}"]) == 2
    assert "is a folder, not a model file" in capsys.readouterr().err
