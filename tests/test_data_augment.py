"""Augmentation: deterministic per seed, each switch works, sketch and target move together."""

from dataclasses import replace

import pytest
import torch

from sketchpad.data import AugmentConfig, augment_pair, pair_generator
from sketchpad.data.augment import change_thickness, perturb_pair
from sketchpad.errors import ConfigError

R = 24
SWITCHES = AugmentConfig.SWITCHES


def pair():
    """An asymmetric sketch (an L of 1-pixel lines) and a target with a red patch on the L."""
    sketch = torch.zeros(1, R, R)
    sketch[0, 4:18, 5] = 1
    sketch[0, 17, 5:16] = 1
    image = torch.ones(3, R, R)
    image[:, 15:19, 4:8] = torch.tensor([1.0, -1.0, -1.0])[:, None, None]
    return sketch, image


def run(config, seed, epoch=0, index=0):
    return augment_pair(*pair(), config, pair_generator(seed, epoch, index))


def test_same_seed_same_result_other_seed_or_epoch_differs():
    config = AugmentConfig()
    a, b = run(config, 7), run(config, 7)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    others = [run(config, 8)[0], run(config, 7, epoch=1)[0], run(config, 7, index=1)[0]]
    assert all(not torch.equal(a[0], other) for other in others)


@pytest.mark.parametrize("switch", SWITCHES)
def test_each_switch_changes_the_output(switch):
    sketch, image = pair()
    config = AugmentConfig.only(switch)
    changed = [not torch.equal(run(config, seed)[0], sketch) for seed in range(6)]
    assert any(changed)


def test_off_changes_nothing_and_keeps_ranges():
    sketch, image = pair()
    out = run(AugmentConfig.off(), 0)
    assert torch.equal(out[0], sketch) and torch.equal(out[1], image)
    assert not AugmentConfig.off().enabled and AugmentConfig().enabled
    for seed in range(4):
        s, i = run(AugmentConfig(distance_field=True), seed)
        assert s.shape == (1, R, R) and i.shape == (3, R, R)
        assert s.min() >= 0 and s.max() <= 1 and i.min() >= -1 and i.max() <= 1


def test_geometric_changes_are_shared_by_sketch_and_target():
    for name in ("flip", "affine"):
        for seed in range(4):
            s, i = run(AugmentConfig.only(name), seed)
            corner = (s[0] * (i[1] < -0.5)).sum()  # ink under the red patch (green channel low)
            assert corner >= 2, (name, seed)


def test_turning_one_switch_off_leaves_the_others_alone():
    flip_only = run(AugmentConfig.only("flip"), 3)
    flip_and_distance = run(AugmentConfig.only("flip", "distance_field"), 3)
    assert torch.equal(flip_only[1], flip_and_distance[1])


def test_thickness_grows_and_shrinks():
    sketch, _ = pair()
    assert change_thickness(sketch, 1.0).sum() > sketch.sum()
    assert change_thickness(sketch, -0.5).sum() < sketch.sum()
    assert torch.equal(change_thickness(sketch, 0.0), sketch)


def test_config_validation():
    with pytest.raises(ConfigError, match="max_rotation"):
        AugmentConfig(max_rotation=-1)
    with pytest.raises(ConfigError, match="unknown augmentation"):
        AugmentConfig.only("blur")


def frame_pair():
    """A frame-filling square outline 2 px wide, its target filled red inside."""
    size = 64
    sketch = torch.zeros(1, size, size)
    sketch[0, 4:60, 4:6] = sketch[0, 4:60, 58:60] = sketch[0, 4:6, 4:60] = sketch[
        0, 58:60, 4:60
    ] = 1
    image = torch.ones(3, size, size)
    image[:, 6:58, 6:58] = torch.tensor([1.0, -1.0, -1.0])[:, None, None]
    return sketch, image


def extent(ink: torch.Tensor) -> float:
    rows = (ink[0] > 0.5).any(dim=1).nonzero()
    return float(rows.max() - rows.min() + 1) / ink.shape[-1]


def test_rescale_draws_smaller_and_anywhere_with_strokes_kept_at_their_width():
    sketch, image = frame_pair()
    config = replace(AugmentConfig.only("rescale"), rescale_share=1.0, min_size=0.4, max_size=0.6)
    sizes, places = [], set()
    for seed in range(8):
        s, i = augment_pair(sketch, image, config, pair_generator(seed, 0, 0))
        sizes.append(extent(s))
        rows = (s[0] > 0.5).any(dim=1).nonzero()
        places.add(int(rows.min()) // 4)
        strong = (s[0] > 0.5).sum() / (sketch[0] > 0.5).sum()
        assert strong > 0.3  # thin lines scaled by 0.4-0.6 without widening would keep < 0.25
        red = (i[1] < -0.5) & (i[0] > 0.5)
        assert red.any() and ((s[0] > 0.5) & red).sum() < red.sum() * 0.2  # target moved too
    assert all(0.35 <= e <= 0.7 for e in sizes) and len(places) >= 3


def test_wobble_and_gaps_move_and_break_the_lines():
    sketch, image = frame_pair()
    wobbly, same = augment_pair(
        sketch, image, AugmentConfig.only("wobble"), pair_generator(1, 0, 0)
    )
    assert torch.equal(same, image)  # the target stays: the sketch alone wobbles
    assert not torch.equal(wobbly, sketch) and (wobbly - sketch).abs().sum() < sketch.sum() * 2
    broken, _ = augment_pair(
        sketch, image, replace(AugmentConfig.only("gaps"), max_gaps=0.5), pair_generator(2, 0, 0)
    )
    assert not torch.equal(broken, sketch)


def test_perturbed_test_pairs_are_small_off_centre_and_repeatable():
    sketch, image = frame_pair()
    a = perturb_pair(sketch, image, pair_generator(5, 0, 3))
    b = perturb_pair(sketch, image, pair_generator(5, 0, 3))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert extent(a[0]) <= 0.75
    strong = (a[0][0] > 0.5).sum() / (sketch[0] > 0.5).sum()
    assert strong > 0.4  # thicker than the data's strokes, not thinned by the shrinking
