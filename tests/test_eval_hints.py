"""`sketchpad eval --hints / --perturb / --diversity` on tiny models, and the diversity metric
against known values."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from sketchpad.cli import main
from sketchpad.commands.eval import hint_counts
from sketchpad.data.augment import pair_generator, perturb_pair
from sketchpad.errors import ConfigError
from sketchpad.eval_variants import gains, perturbed_summary
from sketchpad.evaluate import prepare_item
from sketchpad.variation_metrics import DiversityTally, pairwise_difference_map
from tests.train_helpers import make_paired

pytestmark = pytest.mark.usefixtures("isolated_user_dirs")


@pytest.fixture
def data(tmp_path) -> str:
    return "paired:" + str(make_paired(tmp_path / "pairs", count=12))


def evaluate_json(*args: str, capsys) -> dict:
    code = main(["eval", *args, "--split", "all", "--limit", "6", "--json", "--device", "cpu"])
    assert code == 0
    return json.loads(capsys.readouterr().out)


# -- the diversity metric --------------------------------------------------------------------


def test_pairwise_difference_of_known_pictures():
    pictures = torch.zeros(3, 2, 2, 2)
    pictures[1] = 0.5
    pictures[2, 0] = 1.0  # channel 0 only: its channel mean is 0.5
    # pairs: (0,1) 0.5, (0,2) 0.5, (1,2) mean(|1 - 0.5|, |0 - 0.5|) = 0.5 -> 0.5 everywhere
    assert torch.allclose(pairwise_difference_map(pictures), torch.full((2, 2), 0.5))
    same = torch.rand(1, 3, 5, 5).repeat(4, 1, 1, 1)
    assert pairwise_difference_map(same).abs().max() == 0
    two = torch.stack([torch.zeros(1, 1, 3), torch.tensor([[[0.0, 0.3, 0.9]]])])
    assert pairwise_difference_map(two).flatten().tolist() == pytest.approx([0.0, 0.3, 0.9])
    with pytest.raises(ValueError, match="K ≥ 2"):
        pairwise_difference_map(torch.zeros(1, 3, 4, 4))


def test_diversity_tally_keeps_hinted_and_unhinted_pixels_apart():
    # two pictures that differ by 0.2 on the left column and by 0.8 on the right one
    a = torch.zeros(1, 2, 2)
    b = torch.tensor([[[0.2, 0.8], [0.2, 0.8]]])
    mask = torch.tensor([[1.0, 0.0], [1.0, 0.0]])  # the left column is hinted
    tally = DiversityTally()
    tally.add(torch.stack([a, b]), mask)
    assert tally.hinted == pytest.approx(0.2) and tally.unhinted == pytest.approx(0.8)
    # a second item with no hint at all: pixel-weighted over the split
    tally.add(torch.stack([a, a + 0.5]), torch.zeros(2, 2))
    assert tally.hinted == pytest.approx(0.2)
    assert tally.unhinted == pytest.approx((2 * 0.8 + 4 * 0.5) / 6)
    report = tally.report()
    assert report["items"] == 2 and report["hinted_pixels"] == 2 and report["unhinted_pixels"] == 6
    empty = DiversityTally()
    empty.add(torch.stack([a, b]), torch.zeros(1, 2, 2))
    assert math.isnan(empty.hinted) and empty.report()["hinted"] is None


def test_gains_are_signed_so_that_more_is_better():
    def report(psnr, ssim, l1, ipsnr, issim, il1):
        med = lambda v: {"median": v, "mean": v}  # noqa: E731
        return {
            "count": 3,
            "metrics": {"psnr": med(psnr), "ssim": med(ssim), "l1": med(l1)},
            "identity": {"psnr": med(ipsnr), "ssim": med(issim), "l1": med(il1)},
        }

    clean = report(20.0, 0.8, 0.1, 14.0, 0.6, 0.3)
    assert gains(clean) == pytest.approx({"psnr": 6.0, "ssim": 0.2, "l1": 0.2})
    summary = perturbed_summary(clean, report(17.0, 0.7, 0.2, 14.0, 0.6, 0.3))
    assert summary["gain"]["psnr"] == pytest.approx(3.0) and summary["ratio"] == pytest.approx(0.5)
    assert perturbed_summary(report(10.0, 0, 0, 14.0, 0, 0), clean)["ratio"] is None


def test_hint_counts_parse_lists_and_refuse_nonsense():
    assert hint_counts(None) == [0]
    assert hint_counts("4") == [0, 4]
    assert hint_counts("16, 4,0,4") == [0, 4, 16]
    for bad, why in (("a", "whole numbers"), ("4,,8", "whole numbers"), ("-1", "0..256")):
        with pytest.raises(ConfigError, match=why):
            hint_counts(bad)


def test_prepared_items_are_the_same_for_one_index():
    image = torch.full((3, 32, 32), 1.0)
    image[:, 8:24, 8:24] = torch.tensor([0.6, -0.4, -0.2])[:, None, None]  # a coloured square
    sketch = torch.zeros(1, 32, 32)
    sketch[0, 8, 8:24] = 1.0
    item = {"sketch": sketch, "image": image}
    s1, i1, h1 = prepare_item(item, 3, hints=4, perturb=True, seed=1)
    s2, i2, h2 = prepare_item(item, 3, hints=4, perturb=True, seed=1)
    assert torch.equal(s1, s2) and torch.equal(i1, i2) and torch.equal(h1, h2)
    want_s, want_i = perturb_pair(sketch, image, pair_generator(1, 0, 3))
    assert torch.equal(s1, want_s) and torch.equal(i1, want_i)
    assert h1.shape == (4, 32, 32) and h1[3].sum() > 0  # dabs on the moved square
    assert prepare_item(item, 3)[2] is None
    _, _, other = prepare_item(item, 4, hints=4, perturb=True, seed=1)
    assert not torch.equal(other, h1)


# -- the command -----------------------------------------------------------------------------


def test_eval_hints_reports_a_row_per_count(hinted_model, data, capsys):
    report = evaluate_json(
        "--model", hinted_model, "--data", data, "--hints", "4,16", capsys=capsys
    )
    rows = report["hints"]
    assert [r["count"] for r in rows] == [0, 4, 16]
    assert rows[0]["metrics"] == report["metrics"]  # the row without hints is the plain report
    for row in rows:
        assert set(row["metrics"]) == {"l1", "psnr", "ssim"} and set(row["gain"]) == {
            "psnr",
            "ssim",
            "l1",
        }
    assert rows[2]["metrics"]["l1"] != rows[0]["metrics"]["l1"]  # the hints reached the model
    again = evaluate_json("--model", hinted_model, "--data", data, "--hints", "4,16", capsys=capsys)
    assert again["hints"] == rows  # fixed dabs, fixed noise
    code = main(
        ["eval", "--model", hinted_model, "--data", data, "--split", "all"]
        + ["--limit", "4", "--hints", "4", "--device", "cpu"]
    )
    text = capsys.readouterr().out
    assert code == 0 and "PSNR gain" in text
    lines = [line.split() for line in text.splitlines()]
    assert any(parts[:1] == ["none"] for parts in lines) and any(
        parts[:1] == ["4"] for parts in lines
    )


@pytest.mark.parametrize("frame", [[], ["--frame"]])
def test_the_seed_picks_the_noise_of_the_pictures_scored(hinted_model, data, capsys, frame):
    """Without hints or perturbation only the noise differs between two seeds: each seed
    scores its own pictures, and one seed always the same ones."""

    def scores(seed: int) -> list[float]:
        report = evaluate_json(
            "--model", hinted_model, "--data", data, "--seed", str(seed), *frame, capsys=capsys
        )
        return [item["l1"] for item in report["per_item"]]

    first = scores(0)
    assert scores(0) == first
    assert scores(1) != first


def test_eval_perturb_reports_both_gains_and_their_ratio(hinted_model, data, capsys):
    report = evaluate_json("--model", hinted_model, "--data", data, "--perturb", capsys=capsys)
    p = report["perturbed"]
    assert p["clean_gain"] == report["gain"] and set(p["gain"]) == {"psnr", "ssim", "l1"}
    assert p["metrics"] != report["metrics"]  # another split: drawn smaller, elsewhere
    clean_psnr = report["gain"]["psnr"]
    expected = p["gain"]["psnr"] / clean_psnr if clean_psnr > 0 else None
    assert p["ratio"] == (pytest.approx(expected) if expected is not None else None)
    code = main(
        ["eval", "--model", hinted_model, "--data", data, "--split", "all"]
        + ["--limit", "4", "--perturb", "--device", "cpu"]
    )
    text = capsys.readouterr().out
    assert code == 0 and "clean" in text and "perturbed" in text
    assert "perturbed / clean PSNR gain:" in text


def test_eval_diversity_prints_hinted_and_unhinted(hinted_model, data, capsys):
    report = evaluate_json(
        "--model", hinted_model, "--data", data, "--hints", "8", "--diversity", capsys=capsys
    )
    none, eight = report["diversity"]
    assert (none["hints"], eight["hints"], eight["seeds"]) == (0, 8, 4)
    assert none["hinted"] is None and none["unhinted"] > 0  # noise changes the pictures
    assert eight["hinted_pixels"] > 0 and eight["hinted"] > 0 and eight["unhinted"] > 0
    code = main(
        ["eval", "--model", hinted_model, "--data", data, "--split", "all"]
        + ["--limit", "3", "--diversity", "--device", "cpu"]
    )
    text = capsys.readouterr().out
    assert code == 0 and "hinted" in text and "unhinted" in text and "4 seeds" in text


def test_eval_says_what_a_plain_model_cannot_measure(plain_model, data, capsys):
    base = ["eval", "--model", plain_model, "--data", data, "--split", "all", "--limit", "2"]
    assert main([*base, "--hints", "4"]) == 2
    err = capsys.readouterr().err
    assert "no colour-hint inputs" in err and "Traceback" not in err
    assert main([*base, "--diversity"]) == 2
    assert "takes no noise" in capsys.readouterr().err
    assert main([*base, "--hints", "x"]) == 2
    assert "whole numbers" in capsys.readouterr().err
    assert main([*base, "--hints", "0", "--perturb", "--json"]) == 0  # 0 hints: nothing new
    report = json.loads(capsys.readouterr().out)
    assert [r["count"] for r in report["hints"]] == [0] and "perturbed" in report


def test_sample_grid_uses_and_shows_the_items_hints(hinted_model):
    from sketchpad.checkpoint import load_model
    from sketchpad.devices import choose_precision
    from sketchpad.evaluate import sample_grid

    model = load_model(hinted_model, with_discriminator=False)
    precision = choose_precision(torch.device("cpu"), "fp32")
    sketch = torch.zeros(1, 32, 32)
    hints = torch.zeros(4, 32, 32)
    hints[:, 10:20, 10:20] = torch.tensor([1.0, -1.0, -1.0, 1.0])[:, None, None]  # red, masked
    plain = [{"sketch": sketch, "image": torch.ones(3, 32, 32)}]
    grid = np.asarray(sample_grid(model.generator, plain, precision))
    hinted = np.asarray(sample_grid(model.generator, [{**plain[0], "hints": hints}], precision))
    assert grid.shape == hinted.shape == (32, 96, 3)
    assert hinted[15, 15].tolist() == [255, 0, 0] and grid[15, 15].tolist() == [255, 255, 255]
    assert not np.array_equal(grid[:, 32:64], hinted[:, 32:64])  # the output saw the hints
