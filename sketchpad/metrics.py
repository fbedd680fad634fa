"""Image quality metrics on RGB tensors in [0, 1]: L1, PSNR and SSIM (per image)."""

from __future__ import annotations

import statistics
from collections.abc import Iterable

import torch
import torch.nn.functional as F


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """[-1, 1] model range → [0, 1]."""
    return ((images.float() + 1) / 2).clamp(0, 1)


def l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference per image, (B,)."""
    return (a.float() - b.float()).abs().flatten(1).mean(1)


def psnr(a: torch.Tensor, b: torch.Tensor, max_value: float = 1.0) -> torch.Tensor:
    """Peak signal-to-noise ratio in dB per image, (B,); identical images give +inf, capped at
    100 dB so means stay finite."""
    mse = (a.float() - b.float()).square().flatten(1).mean(1)
    return (10 * torch.log10(max_value**2 / mse.clamp_min(1e-10))).clamp(max=100.0)


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    return (g[:, None] * g[None, :]).float()


def ssim(a: torch.Tensor, b: torch.Tensor, max_value: float = 1.0) -> torch.Tensor:
    """Structural similarity (Wang et al. 2004: 11×11 Gaussian window, σ = 1.5, K1 = 0.01,
    K2 = 0.03), averaged over channels and positions (valid window positions only), (B,)."""
    a, b = a.float(), b.float()
    channels = a.shape[1]
    size = min(11, a.shape[-1], a.shape[-2])
    window = _gaussian_window(size).to(a.device).expand(channels, 1, size, size)

    def blur(x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, window, groups=channels)

    c1, c2 = (0.01 * max_value) ** 2, (0.03 * max_value) ** 2
    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    num = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
    den = (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    return (num / den).flatten(1).mean(1)


def summarize(values: Iterable[float]) -> dict[str, float]:
    vals = list(values)
    if not vals:
        return {"mean": float("nan"), "median": float("nan")}
    return {"mean": statistics.fmean(vals), "median": statistics.median(vals)}


# Colour fidelity: the picture's main colour against the target's, in CIELAB.

COLOUR_WHITE = 0.9
"""A pixel whose channels are all at least this is paper (white), not colour."""
COLOUR_BLACK = 0.25
"""A pixel whose channels are all at most this is line (black), not colour."""
COLOUR_MIN_SHARE = 0.01
"""A target with less than this share of colour pixels has no main colour (black-and-white
symbols): it is left out of the colour-fidelity share."""
COLOUR_DELTA_E = 20.0
"""The ΔE (CIE 1976, CIELAB) within which a main colour counts as kept."""


def srgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1], (..., 3) → CIELAB (L*, a*, b*) under D65, (..., 3)."""
    rgb = rgb.double().clamp(0, 1)
    linear = torch.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    to_xyz = torch.tensor(
        [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750],
         [0.0193339, 0.1191920, 0.9503041]],
        dtype=torch.float64,
    )  # fmt: skip
    xyz = linear @ to_xyz.T / torch.tensor([0.95047, 1.0, 1.08883], dtype=torch.float64)
    eps, kappa = 216 / 24389, 24389 / 27
    f = torch.where(xyz > eps, xyz ** (1 / 3), (kappa * xyz + 16) / 116)
    fx, fy, fz = f.unbind(-1)
    return torch.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], dim=-1)


def main_colour(image: torch.Tensor, min_share: float = 0.0) -> torch.Tensor | None:
    """The mean sRGB colour of one picture's (3, H, W) in [0, 1] pixels that are neither paper
    (all channels ≥ COLOUR_WHITE) nor line (all ≤ COLOUR_BLACK) nor next to a line (its
    anti-aliased fringe, grey, is no colour), (3,); None when fewer than `min_share` of the
    pixels (and at least one) are such."""
    image = image.float()
    black = (image <= COLOUR_BLACK).all(0, keepdim=True).float()
    near_line = F.max_pool2d(black[None], 3, stride=1, padding=1)[0, 0] > 0
    white = (image >= COLOUR_WHITE).all(0)
    chosen = ~white & ~near_line
    count = int(chosen.sum())
    if count == 0 or count < min_share * chosen.numel():
        return None
    return image[:, chosen].mean(1)


def main_colour_delta_e(picture: torch.Tensor, target: torch.Tensor) -> float | None:
    """ΔE (CIE 1976) between the main colours of a picture and its target, both (3, H, W) in
    [0, 1]. None when the target has no main colour (COLOUR_MIN_SHARE). A picture that is all
    paper and line is taken at the mean of all its pixels (a grey, far from most colours)."""
    wanted = main_colour(target, COLOUR_MIN_SHARE)
    if wanted is None:
        return None
    got = main_colour(picture)
    if got is None:
        got = picture.float().flatten(1).mean(1)
    return float((srgb_to_lab(got) - srgb_to_lab(wanted)).norm())


def colour_fidelity(delta_e: Iterable[float | None], within: float = COLOUR_DELTA_E) -> dict:
    """{"share": the share of the items with a main colour whose ΔE ≤ `within`, "count": those
    items, "median_delta_e"}; items with None (no main colour in the target) are left out."""
    values = [v for v in delta_e if v is not None]
    if not values:
        return {"share": float("nan"), "count": 0, "median_delta_e": float("nan")}
    return {
        "share": sum(v <= within for v in values) / len(values),
        "count": len(values),
        "median_delta_e": statistics.median(values),
    }
