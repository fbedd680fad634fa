"""Colour hints sampled from a target: deterministic per item, on coloured regions in their
local colour, geometric in number, moving with the augmentation."""

import pytest
import torch
import torch.nn.functional as F

from sketchpad.data.augment import AugmentConfig, augment_pair, pair_generator
from sketchpad.data.hints import (
    HintConfig,
    coloured_pixels,
    dab_count,
    hint_generator,
    hint_input,
    resize_hints,
    sample_hints,
)
from sketchpad.errors import ConfigError

R = 64


def target() -> torch.Tensor:
    """White paper, a red square and a blue square, each outlined in black (in [-1, 1])."""
    img = torch.ones(3, R, R)
    img[:, 8:30, 8:30] = -1.0  # outline
    img[:, 10:28, 10:28] = torch.tensor([1.0, -0.6, -0.6])[:, None, None]  # red
    img[:, 34:58, 30:56] = -1.0
    img[:, 36:56, 32:54] = torch.tensor([-0.6, -0.4, 1.0])[:, None, None]  # blue
    return img


def spilled(region: torch.Tensor) -> torch.Tensor:
    """`region` grown by the pixel a dab may spill over its edge."""
    return F.max_pool2d(region[None, None].float(), 3, 1, 1)[0, 0] > 0


def test_hints_are_deterministic_per_item_and_vary_between_items():
    img = target()
    a = sample_hints(img, hint_generator(1, 2, 3), count=6)
    b = sample_hints(img, hint_generator(1, 2, 3), count=6)
    c = sample_hints(img, hint_generator(1, 2, 4), count=6)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[1], c[1])


def test_dabs_sit_on_coloured_pixels_in_their_local_colour():
    img = target()
    colour, mask = sample_hints(img, hint_generator(0, 0, 0), count=16)
    on = mask[0] > 0
    assert (
        on.any() and (on <= spilled(coloured_pixels(img))).all()
    )  # on coloured regions, spilling a pixel at most
    reds = on & (torch.arange(R)[:, None] < 30)
    blues = on & (torch.arange(R)[:, None] >= 30)
    assert reds.any() and blues.any()
    assert torch.allclose(colour[:, reds], torch.tensor([1.0, -0.6, -0.6])[:, None], atol=1e-5)
    assert torch.allclose(colour[:, blues], torch.tensor([-0.6, -0.4, 1.0])[:, None], atol=1e-5)
    assert (colour[:, ~on] == 0).all()
    x = hint_input(colour, mask)
    assert x.shape == (4, R, R) and torch.equal(x[3], mask[0])


def test_the_dab_count_is_geometric_and_often_zero():
    config = HintConfig(p_none=0.35, max_dabs=32)
    counts = [dab_count(hint_generator(7, 0, i), config) for i in range(4000)]
    zero = sum(c == 0 for c in counts) / len(counts)
    mean = sum(counts) / len(counts)
    assert zero == pytest.approx(0.35, abs=0.03)
    assert mean == pytest.approx((1 - 0.35) / 0.35, rel=0.1)
    assert max(counts) <= 32
    assert dab_count(hint_generator(0, 0, 0), HintConfig(p_none=1.0)) == 0
    with pytest.raises(ConfigError, match="p_none"):
        HintConfig(p_none=0.0)


def test_a_target_without_colour_gets_no_hints():
    blank = torch.ones(3, R, R)
    blank[:, 20:22, :] = -1.0  # a line on paper
    colour, mask = sample_hints(blank, hint_generator(0, 0, 0), count=10)
    assert mask.sum() == 0 and colour.abs().sum() == 0


def test_hints_sampled_after_the_augmentation_move_with_it():
    img = target()
    sketch = (img.mean(dim=0, keepdim=True) < -0.9).float()
    config = AugmentConfig.only("affine", "flip")
    for index in range(6):
        _, moved = augment_pair(sketch, img, config, pair_generator(3, 1, index))
        colour, mask = sample_hints(moved, hint_generator(3, 1, index), count=8)
        on = mask[0] > 0
        inside = on & coloured_pixels(moved)
        assert (on <= spilled(coloured_pixels(moved))).all()
        if on.any():  # each hinted pixel's colour is the moved target's colour there (±blur)
            assert inside.sum() >= on.sum() // 2
            err = (colour[:, inside] - moved[:, inside]).abs().mean()
            assert err < 0.25


def test_resized_hints_keep_their_colours():
    img = target()
    colour, mask = sample_hints(img, hint_generator(0, 0, 1), count=12)
    small_c, small_m = resize_hints(colour, mask, R // 2)
    assert small_m.shape == (1, R // 2, R // 2) and set(small_m.unique().tolist()) <= {0.0, 1.0}
    on = small_m[0] > 0
    assert on.any()
    values = small_c[:, on]
    near = [
        min(
            (values[:, k] - torch.tensor(ref)).abs().max().item()
            for ref in ([1.0, -0.6, -0.6], [-0.6, -0.4, 1.0])
        )
        for k in range(values.shape[1])
    ]
    assert max(near) < 1e-4  # each small pixel's hint is one of the two colours
