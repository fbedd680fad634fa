"""Losses as small pure functions. Adversarial objectives take one logit map or a list of maps
of any shape (one per discriminator scale or branch) and average over the list.

Objectives: "vanilla" (BCE with logits, pix2pix), "lsgan" (least squares, pix2pixHD),
"hinge" (SAGAN), "wgangp" (Wasserstein critic; add `gradient_penalty` to the D loss).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

MapOrMaps = torch.Tensor | Sequence[torch.Tensor]


def _maps(x: MapOrMaps) -> list[torch.Tensor]:
    return [x] if isinstance(x, torch.Tensor) else list(x)


def _mean_over(maps: MapOrMaps, term: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    items = _maps(maps)
    if not items:
        raise ValueError("no discriminator outputs")
    return torch.stack([term(m.float()) for m in items]).mean()


def _bce(m: torch.Tensor, target: float) -> torch.Tensor:
    return F.binary_cross_entropy_with_logits(m, torch.tensor(target, device=m.device).expand_as(m))


def _mse(m: torch.Tensor, target: float) -> torch.Tensor:
    return F.mse_loss(m, torch.tensor(target, device=m.device).expand_as(m))


def d_loss_real(objective: str, real: MapOrMaps) -> torch.Tensor:
    """Discriminator loss on real pairs (to be added to `d_loss_fake`)."""
    if objective == "vanilla":
        return _mean_over(real, lambda m: _bce(m, 1.0))
    if objective == "lsgan":
        return _mean_over(real, lambda m: _mse(m, 1.0))
    if objective == "hinge":
        return _mean_over(real, lambda m: F.relu(1.0 - m).mean())
    if objective == "wgangp":
        return _mean_over(real, lambda m: -m.mean())
    raise ValueError(f"unknown objective {objective!r}")


def d_loss_fake(objective: str, fake: MapOrMaps) -> torch.Tensor:
    """Discriminator loss on generated pairs."""
    if objective == "vanilla":
        return _mean_over(fake, lambda m: _bce(m, 0.0))
    if objective == "lsgan":
        return _mean_over(fake, lambda m: _mse(m, 0.0))
    if objective == "hinge":
        return _mean_over(fake, lambda m: F.relu(1.0 + m).mean())
    if objective == "wgangp":
        return _mean_over(fake, lambda m: m.mean())
    raise ValueError(f"unknown objective {objective!r}")


def g_loss(objective: str, fake: MapOrMaps) -> torch.Tensor:
    """Generator's adversarial loss on its outputs as judged by the discriminator."""
    if objective == "vanilla":
        return _mean_over(fake, lambda m: _bce(m, 1.0))
    if objective == "lsgan":
        return _mean_over(fake, lambda m: _mse(m, 1.0))
    if objective in ("hinge", "wgangp"):
        return _mean_over(fake, lambda m: -m.mean())
    raise ValueError(f"unknown objective {objective!r}")


def gradient_penalty(
    critic: Callable[[torch.Tensor], MapOrMaps],
    real: torch.Tensor,
    fake: torch.Tensor,
    weight: float = 10.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """WGAN-GP: weight · E[(‖∇ critic(x̂)‖₂ − 1)²] on random interpolates x̂ of real and fake.
    A critic with several maps is the sum of all its outputs."""
    eps = torch.rand(
        (real.shape[0],) + (1,) * (real.dim() - 1), device=real.device, generator=generator
    )
    x = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    total = sum(m.float().sum() for m in _maps(critic(x)))
    (grad,) = torch.autograd.grad(total, x, create_graph=True)
    norm = grad.flatten(1).norm(2, dim=1)
    return weight * ((norm - 1.0) ** 2).mean()


def l1_loss(fake: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.l1_loss(fake.float(), target.float())


def feature_matching_loss(
    real_features: Sequence[Sequence[torch.Tensor]],
    fake_features: Sequence[Sequence[torch.Tensor]],
) -> torch.Tensor:
    """pix2pixHD's feature matching: L1 between the discriminator's intermediate activations
    on real and generated pairs (real side detached), averaged over layers and outputs."""
    per_output = []
    for real, fake in zip(real_features, fake_features, strict=True):
        terms = [F.l1_loss(f.float(), r.detach().float()) for r, f in zip(real, fake, strict=True)]
        per_output.append(torch.stack(terms).mean())
    return torch.stack(per_output).mean()


def mode_seeking_loss(
    fake_a: torch.Tensor,
    fake_b: torch.Tensor,
    noise_a: torch.Tensor,
    noise_b: torch.Tensor,
    eps: float = 1e-5,
    open_area: torch.Tensor | None = None,
    cap: float = 0.0,
    pool: int = 1,
) -> torch.Tensor:
    """MSGAN's mode-seeking term (Mao et al., CVPR 2019): the reciprocal of how far apart two
    pictures of one condition are, per unit of distance between their noises. Minimising it
    pushes different noise to different pictures; L1 and the hints keep what they fix.
    `open_area` (B, 1, H, W) in [0, 1] weighs where the distance counts (1 - the hint mask:
    what a hint fixes is not asked to vary). `pool` > 1 compares the pictures averaged over
    pool × pool cells (their colours, not their lines); `cap` > 0 stops asking once the ratio
    reaches it (DSGAN's min(·, τ)), so diversity never has to smear the picture."""
    if pool > 1:
        fake_a, fake_b = F.avg_pool2d(fake_a, pool), F.avg_pool2d(fake_b, pool)
        if open_area is not None:
            open_area = F.avg_pool2d(open_area, pool)
    diff = (fake_a - fake_b).abs()
    if open_area is None:
        pictures = diff.mean(dim=(1, 2, 3))  # (B,)
    else:
        weight = open_area.to(diff.dtype).expand_as(diff)
        pictures = (diff * weight).sum(dim=(1, 2, 3)) / weight.sum(dim=(1, 2, 3)).clamp_min(1.0)
    noises = (noise_a - noise_b).abs().mean(dim=(1, 2, 3))  # (B,)
    ratio = pictures / noises
    if cap > 0:
        ratio = ratio.clamp(max=cap)
    return (1.0 / (ratio + eps)).mean()
