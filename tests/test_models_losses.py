"""Loss values against hand-computed cases."""

import math

import pytest
import torch

from models import d_loss_fake, d_loss_real, feature_matching_loss, g_loss, gradient_penalty
from models.losses import l1_loss

REAL = torch.tensor([[2.0, -1.0]])
FAKE = torch.tensor([[0.5, -3.0]])


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


@pytest.mark.parametrize(
    ("objective", "real", "fake", "gen"),
    [
        # BCE with logits: -log σ(x) = softplus(-x); -log(1 - σ(x)) = softplus(x)
        (
            "vanilla",
            (softplus(-2) + softplus(1)) / 2,
            (softplus(0.5) + softplus(-3)) / 2,
            (softplus(-0.5) + softplus(3)) / 2,
        ),
        (
            "lsgan",
            ((2 - 1) ** 2 + (-1 - 1) ** 2) / 2,
            (0.5**2 + 3**2) / 2,
            ((0.5 - 1) ** 2 + (-3 - 1) ** 2) / 2,
        ),
        (
            "hinge",
            (max(0, 1 - 2) + max(0, 1 + 1)) / 2,
            (max(0, 1 + 0.5) + max(0, 1 - 3)) / 2,
            -(0.5 - 3) / 2,
        ),
        ("wgangp", -(2 - 1) / 2, (0.5 - 3) / 2, -(0.5 - 3) / 2),
    ],
)
def test_objectives_match_hand_computed_values(objective, real, fake, gen):
    assert d_loss_real(objective, REAL).item() == pytest.approx(real, rel=1e-6)
    assert d_loss_fake(objective, FAKE).item() == pytest.approx(fake, rel=1e-6)
    assert g_loss(objective, FAKE).item() == pytest.approx(gen, rel=1e-6)


@pytest.mark.parametrize("objective", ["vanilla", "lsgan", "hinge", "wgangp"])
def test_lists_of_maps_of_any_shape_average(objective):
    maps = [torch.randn(2, 1, 5, 5), torch.randn(2, 1, 1, 1), torch.randn(3)]
    expected = sum(d_loss_real(objective, m) for m in maps) / 3
    assert d_loss_real(objective, maps).item() == pytest.approx(expected.item(), rel=1e-6)
    expected = sum(g_loss(objective, m) for m in maps) / 3
    assert g_loss(objective, maps).item() == pytest.approx(expected.item(), rel=1e-6)


def test_unknown_objective_and_empty_list():
    with pytest.raises(ValueError, match="unknown objective"):
        g_loss("nope", REAL)
    with pytest.raises(ValueError, match="no discriminator outputs"):
        d_loss_real("hinge", [])


def test_gradient_penalty_zero_for_unit_gradient_norm():
    u = torch.randn(3, 4, 4)
    u = u / u.norm()  # critic(x) = <x, u> per sample: gradient u, norm 1 everywhere

    def critic(x):
        return (x * u).flatten(1).sum(1)

    real, fake = torch.randn(5, 3, 4, 4), torch.randn(5, 3, 4, 4)
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(0.0, abs=1e-10)

    def steeper(x):
        return [2 * critic(x)[:, None, None], critic(x) * 0]  # two maps, gradient norm 2

    assert gradient_penalty(steeper, real, fake, weight=10).item() == pytest.approx(10.0, rel=1e-5)


def test_gradient_penalty_is_differentiable_for_the_critic():
    w = torch.tensor(3.0, requires_grad=True)
    gp = gradient_penalty(
        lambda x: w * x.sum((1, 2, 3)), torch.randn(2, 1, 2, 2), torch.randn(2, 1, 2, 2)
    )
    gp.backward()
    # ‖∇‖ = |w|·2 (4 ones), penalty 10·(2w − 1)², d/dw = 10·2·(2w − 1)·2 = 200
    assert w.grad.item() == pytest.approx(200.0)


def test_l1_and_feature_matching():
    a, b = torch.zeros(2, 3, 4, 4), torch.full((2, 3, 4, 4), 0.5)
    assert l1_loss(a, b).item() == pytest.approx(0.5)
    real = [[torch.zeros(1, 2, 4, 4), torch.zeros(1, 3, 2, 2)], [torch.ones(1, 1, 2, 2)]]
    fake = [[torch.ones(1, 2, 4, 4), torch.full((1, 3, 2, 2), 3.0)], [torch.ones(1, 1, 2, 2)]]
    # output 0: mean(1, 3) = 2; output 1: 0; mean over outputs = 1
    assert feature_matching_loss(real, fake).item() == pytest.approx(1.0)
    real_t = torch.zeros(1, 2, 2, 2, requires_grad=True)
    fake_t = torch.ones(1, 2, 2, 2, requires_grad=True)
    feature_matching_loss([[real_t]], [[fake_t]]).backward()
    assert fake_t.grad is not None
    assert real_t.grad is None  # the real side is a fixed target
