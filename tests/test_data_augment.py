"""Augmentation: deterministic per seed, each switch works, sketch and target move together."""

import pytest
import torch

from sketchpad.data import AugmentConfig, augment_pair, pair_generator
from sketchpad.data.augment import change_thickness
from sketchpad.errors import ConfigError

R = 24
SWITCHES = ("flip", "affine", "thickness", "dropout", "distance_field")


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
