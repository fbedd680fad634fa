"""Colour fidelity: the main colour of a picture (mean of its pixels that are neither paper,
line nor line fringe) against its target's, in CIELAB, and the share within ΔE 20."""

from __future__ import annotations

import json

import pytest
import torch

from sketchpad import metrics
from sketchpad.cli import main
from tests.train_helpers import make_paired

pytestmark = pytest.mark.usefixtures("isolated_user_dirs")


def emoji(fill: tuple[float, float, float], size: int = 32) -> torch.Tensor:
    """A filled square with a black outline on white paper, (3, size, size) in [0, 1]."""
    image = torch.ones(3, size, size)
    image[:, 8:24, 8:24] = 0.0  # the outline
    image[:, 10:22, 10:22] = torch.tensor(fill)[:, None, None]
    return image


def test_lab_of_known_colours():
    lab = metrics.srgb_to_lab(torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]))
    assert lab[0].tolist() == pytest.approx([100.0, 0.0, 0.0], abs=1e-3)
    assert lab[1].tolist() == pytest.approx([53.24, 80.09, 67.20], abs=0.02)  # sRGB red, D65
    assert lab[2].tolist() == pytest.approx([0.0, 0.0, 0.0], abs=1e-6)


def test_main_colour_is_the_fill_not_the_paper_line_or_fringe():
    red = emoji((1.0, 0.0, 0.0))
    red[:, 9, 10:22] = 0.5  # a grey anti-aliased fringe inside the outline
    assert metrics.main_colour(red).tolist() == pytest.approx([1.0, 0.0, 0.0])
    line_only = torch.ones(3, 32, 32)
    line_only[:, 8:24, 15:17] = 0.0
    line_only[:, 8:24, 14] = 0.6  # its fringe
    assert metrics.main_colour(line_only, metrics.COLOUR_MIN_SHARE) is None


def test_delta_e_tells_a_kept_colour_from_an_average():
    target = emoji((0.95, 0.45, 0.1))  # orange
    assert metrics.main_colour_delta_e(target, target) == pytest.approx(0.0, abs=1e-6)
    near = emoji((0.92, 0.47, 0.14))
    assert metrics.main_colour_delta_e(near, target) < 10  # ΔE 6.5
    yellow_average = emoji((0.95, 0.8, 0.3))
    assert metrics.main_colour_delta_e(yellow_average, target) > metrics.COLOUR_DELTA_E
    blank = torch.ones(3, 32, 32)  # the picture lost its colour: judged as its mean (white)
    assert metrics.main_colour_delta_e(blank, target) > metrics.COLOUR_DELTA_E
    assert metrics.main_colour_delta_e(target, torch.ones(3, 32, 32)) is None


def test_colour_fidelity_leaves_out_targets_without_a_colour():
    report = metrics.colour_fidelity([3.0, None, 25.0, 19.9, None])
    assert report["count"] == 3 and report["share"] == pytest.approx(2 / 3)
    assert report["median_delta_e"] == pytest.approx(19.9)
    assert metrics.colour_fidelity([None])["count"] == 0


def test_eval_reports_the_colour_share(tmp_path, plain_model, capsys):
    data = make_paired(tmp_path / "pairs", count=8)
    args = ["eval", "--model", plain_model, "--data", f"paired:{data}", "--split", "all"]
    assert main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    colour = report["colour"]
    assert 0 <= colour["share"] <= 1 and colour["count"] <= report["count"]
    deltas = [item["delta_e"] for item in report["per_item"]]
    assert sum(d is not None for d in deltas) == colour["count"]
    assert main(args) == 0
    assert "main colour within ΔE 20" in capsys.readouterr().out
