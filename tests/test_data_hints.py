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


def ring_target() -> torch.Tensor:
    """White paper with a black ring: paper outside it and paper enclosed by it."""
    img = torch.ones(3, R, R)
    yy, xx = torch.meshgrid(torch.arange(R), torch.arange(R), indexing="ij")
    d = ((yy - 32) ** 2 + (xx - 32) ** 2).float().sqrt()
    img[:, (d > 14) & (d < 17)] = -1.0
    return img


def test_coloured_paper_tints_the_outside_only_and_gets_a_dab_on_it():
    from sketchpad.data.hints import outer_paper, sample_training_hints

    img = ring_target()
    outside = outer_paper(img)
    assert outside[0, 0] and not outside[32, 32] and not outside[32, 48]  # ring, inside
    config = HintConfig(p_none=1.0, p_background=1.0)  # no ordinary dab, always the paper
    painted, hints = sample_training_hints(img, 0, 0, 5, config)
    again = sample_training_hints(img, 0, 0, 5, config)
    assert torch.equal(painted, again[0]) and torch.equal(hints, again[1])
    tint = painted[:, 0, 0]
    assert (painted[:, outside] - tint[:, None]).abs().max() < 1e-5
    assert not ((tint + 1) / 2 > 0.92).all()  # a colour, not paper
    inside = ~outside & (img > 0).all(dim=0)
    assert torch.equal(painted[:, inside], img[:, inside])  # enclosed paper stays white
    mask = hints[3] > 0
    assert mask.any() and (mask <= spilled(outside)).all()
    assert (hints[:3, mask & outside] - tint[:, None]).abs().max() < 1e-5
    others = [sample_training_hints(img, 0, 0, i, config)[0][:, 0, 0] for i in range(6)]
    assert len({tuple(t.tolist()) for t in others}) > 1  # the colour varies between items


def test_paper_stays_white_unless_asked_and_old_hints_do_not_change():
    from sketchpad.data.hints import sample_training_hints

    img = target()
    plain = HintConfig()
    painted, hints = sample_training_hints(img, 3, 1, 2, plain)
    assert torch.equal(painted, img)
    assert torch.equal(hints, hint_input(*sample_hints(img, hint_generator(3, 1, 2), plain)))
    coloured = [
        sample_training_hints(img, 3, 1, i, HintConfig(p_background=0.5)) for i in range(40)
    ]
    tinted = [p for p, _ in coloured if not torch.equal(p, img)]
    assert 8 <= len(tinted) <= 32  # about half
    with pytest.raises(ConfigError, match="p_background"):
        HintConfig(p_background=1.5)


def test_a_run_saved_before_coloured_paper_resumes_with_white_paper():
    from sketchpad.train.config import TrainConfig, config_from_saved

    saved = TrainConfig().to_dict()
    assert saved["augment"]["hint_background"] > 0
    saved["augment"].pop("hint_background")
    assert config_from_saved(saved).augment.hint_background == 0.0
