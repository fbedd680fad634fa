"""The overlay's arithmetic: output cells ↔ image pixels through the receptive-field calculator,
the colour maps, the combined view and the attention heatmap."""

import numpy as np
import pytest
import torch

from models import DiscriminatorConfig, GeneratorConfig, build_discriminator, build_generator
from models.receptive_field import receptive_fields
from sketchpad.verdicts import (
    MIN_SPREAD,
    VERDICT_ANCHORS,
    Branch,
    attention_pixels,
    attention_rgba,
    cell_at,
    cell_centre,
    cells_at,
    centred_rgba,
    combined_map,
    describe_cells,
    feature_rect,
    level_label,
    overlay_rgba,
    pixel_map,
    probe_cell,
    verdict_color,
    verdict_scale,
    weight_rgba,
)

R = 64


def branches_of(cfg: DiscriminatorConfig) -> list[Branch]:
    d = build_discriminator(cfg)
    return [Branch(n, f) for n, f in zip(d.branch_names(R), receptive_fields(d, R), strict=True)]


@pytest.fixture(scope="module")
def multiscale():
    return branches_of(
        DiscriminatorConfig(arch="multiscale", ndf=2, num_d=2, resolution=R, max_mult=2)
    )


@pytest.fixture(scope="module")
def trunk():
    return branches_of(DiscriminatorConfig(ndf=2, branches=2, resolution=R, max_mult=2))


def test_branch_labels_come_from_the_calculator(multiscale, trunk):
    assert [b.label for b in trunk] == ["70 px patches", "global"]
    assert [b.is_global for b in trunk] == [False, True]
    assert [b.label for b in multiscale] == [
        "scale 1/1, 70 px patches",
        "scale 1/2, 141 px patches",
    ]


def test_every_cell_owns_the_pixels_nearest_its_window_centre(multiscale):
    for branch in multiscale:
        f = branch.field
        oh, ow = f.output_size
        probs = np.arange(oh * ow, dtype=np.float32).reshape(oh, ow)  # cell id as its value
        per_pixel = pixel_map(probs, f)
        assert per_pixel.shape == (R, R)
        for i in range(oh):
            for j in range(ow):
                cy, cx = cell_centre(f, i, j)
                assert per_pixel[cy, cx] == probs[i, j]
                assert cell_at(f, cy + 0.5, cx + 0.5) == (i, j)
        # each pixel belongs to the cell whose centre is nearest (ties to the later cell)
        ys = np.arange(R)
        centres = f.start + np.arange(oh) * f.jump
        nearest = np.argmin(np.abs(ys[:, None] - centres[None, :] + 1e-9), axis=1)
        assert np.array_equal(per_pixel[:, 0] // ow, nearest.astype(np.float32))


def test_a_hovered_cells_rectangle_is_the_calculators_window(multiscale):
    maps = [np.random.default_rng(0).random(b.field.output_size, np.float32) for b in multiscale]
    y, x = 40.3, 17.8
    cells = cells_at(maps, multiscale, y, x)
    for cell, branch, probs in zip(cells, multiscale, maps, strict=True):
        i, j = cell_at(branch.field, y, x)
        assert cell.index == (i, j) and cell.branch == branch.label
        assert cell.window == branch.field.window(i, j) == branch.field.window(i, j, clip=True)
        top, left, bottom, right = cell.window
        assert 0 <= top < bottom <= R and 0 <= left < right <= R
        assert cell.score == pytest.approx(float(probs[i, j]))


def test_the_global_branch_has_one_score_over_the_whole_image(trunk):
    glob = trunk[1]
    per_pixel = pixel_map(np.array([[0.8]], np.float32), glob.field)
    assert np.all(per_pixel == np.float32(0.8))
    (cell,) = cells_at([np.array([[0.8]], np.float32)], [glob], 3.0, 60.0)
    assert cell.is_global and cell.window == (0, 0, R, R)
    assert "whole image" in describe_cells([cell])


def test_combined_view_is_the_mean_of_the_branches_per_pixel(trunk):
    fine = np.random.default_rng(1).random(trunk[0].field.output_size, np.float32)
    glob = np.array([[0.2]], np.float32)
    combined = combined_map([fine, glob], trunk)
    expected = (pixel_map(fine, trunk[0].field) + 0.2) / 2
    assert np.allclose(combined, expected)
    cells = cells_at([fine, glob], trunk, 10, 10)
    assert "mean" in describe_cells(cells) and trunk[0].label in describe_cells(cells)


def test_the_colour_map_runs_blue_white_orange():
    assert verdict_color(0.0) == tuple(VERDICT_ANCHORS[0].astype(int))  # fake: blue
    assert verdict_color(0.5) == (247, 247, 247)  # undecided: white
    assert verdict_color(1.0) == tuple(VERDICT_ANCHORS[-1].astype(int))  # real: orange
    r, g, b = verdict_color(0.1)
    assert b > r  # bluish
    r, g, b = verdict_color(0.9)
    assert r > b  # orange-ish


def test_the_verdict_layer_is_centred_on_the_median():
    # most patches sit near 0.5; two stand out, one each way
    values = np.full((10, 10), 0.52)
    values[0, :5] = 0.50
    values[1, :5] = 0.54
    values[9, 9], values[0, 0] = 0.80, 0.30
    median, spread = verdict_scale(values)
    assert median == pytest.approx(0.52)
    assert spread == pytest.approx(MIN_SPREAD)  # 95% of the deviations are tiny
    rgba = overlay_rgba(values)
    assert rgba.shape == (10, 10, 4) and rgba.dtype == np.uint8
    assert rgba[5, 5, 3] == 0  # at the median: clear, the picture shows through
    assert 0 < rgba[1, 0, 3] < 255  # a little off: faint
    top, bottom = rgba[9, 9], rgba[0, 0]
    assert top[3] == bottom[3] == 255  # far off: full colour
    assert tuple(top[:3]) == tuple(VERDICT_ANCHORS[-1].astype(int))  # more real: orange
    assert tuple(bottom[:3]) == tuple(VERDICT_ANCHORS[0].astype(int))  # faker: blue
    # the same map shifted: the same picture (centred on its own median, not on 0.5)
    assert np.array_equal(overlay_rgba(values + 0.2), rgba)
    # symmetric about the median
    assert np.array_equal(
        centred_rgba(np.array([0.4, 0.6]), 0.5, 0.1)[:, 3],
        np.array([255, 255], np.uint8),
    )


def test_a_constant_map_is_clear():
    rgba = overlay_rgba(np.full((4, 4), 0.37))
    assert (rgba[..., 3] == 0).all()


def test_the_attention_colours_read_on_yellow():
    yellow = np.array([240, 200, 40], np.float64)  # the default model's emoji faces
    for v in (0.5, 0.75, 1.0):
        r, g, b, a = weight_rgba(np.array(v))
        assert b > r and b > 150  # blue to cyan, never yellow or orange
        assert np.abs(np.array([r, g, b]) - yellow).sum() > 250
    alphas = weight_rgba(np.linspace(0, 1, 11))[:, 3]
    assert alphas[0] == 0 and alphas[-1] == 255 and (np.diff(alphas.astype(int)) > 0).all()


def test_attention_heatmap_and_query_marker():
    w = np.zeros((8, 8), np.float32)
    w[2, 5] = 0.75
    w[7, 0] = 0.25
    up = attention_pixels(w, 32)
    assert up.shape == (32, 32) and up.max() == 1.0
    assert np.all(up[8:12, 20:24] == 1.0) and np.all(up[28:32, 0:4] == pytest.approx(1 / 3))
    rgba = attention_rgba(w, 32)
    assert rgba[9, 21, 3] == 255 and rgba[0, 0, 3] < 128  # the picture shows where it did not look
    assert probe_cell((0.3, 0.7), (8, 8)) == (2, 5) and probe_cell((0.999, 1.0), (8, 8)) == (7, 7)
    assert feature_rect((2, 5), (8, 8), 32) == (8.0, 20.0, 12.0, 24.0)
    assert level_label((16, 16)) == "16×16 features"


def test_probe_cell_matches_the_generator():
    torch.manual_seed(0)
    cfg = GeneratorConfig(resolution=32, base_width=4, max_width=8, depth=3, attention_levels=(1,))
    g = build_generator(cfg).eval()
    x = torch.rand(1, 1, 32, 32)
    probe = (0.3, 0.8)
    with torch.no_grad():
        _, weights = g.forward_with_attention(x, probe=probe)
        attn = g.attention["1"]
        captured = {}
        hook = attn.register_forward_hook(lambda m, i, o: captured.update(x=i[0], s=i[1]))
        g.forward_with_attention(x, probe=probe)
        hook.remove()
        full = attn.attention_matrix(captured["x"], captured["s"])  # (1, N, N)
    i, j = probe_cell(probe, (16, 16))
    assert torch.allclose(weights[1][0].flatten(), full[0, i * 16 + j], atol=1e-5)
