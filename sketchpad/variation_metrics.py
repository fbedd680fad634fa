"""How different a model's variations of one sketch are: the mean pairwise absolute difference
between pictures made from several noise seeds, on the hinted pixels and on the others apart.

A model that takes hints should keep a hinted pixel's colour whatever the seed (a small number
there) and is free to vary the rest (a larger number there); a model whose noise does nothing
gives 0 on both (mode collapse, which the mode-seeking loss fights).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


def pairwise_difference_map(pictures: torch.Tensor) -> torch.Tensor:
    """The mean absolute difference over every pair of `pictures` ((K, C, H, W), K ≥ 2, values
    in [0, 1]) and over channels, per pixel: (H, W)."""
    if pictures.dim() != 4 or pictures.shape[0] < 2:
        raise ValueError(f"expected (K ≥ 2, C, H, W) pictures, got {tuple(pictures.shape)}")
    x = pictures.float()
    k = x.shape[0]
    total = torch.zeros(x.shape[-2:], dtype=torch.float64)
    for i in range(k - 1):
        total += (x[i + 1 :] - x[i]).abs().mean(dim=1).sum(dim=0).double()  # (H, W)
    return (total / (k * (k - 1) / 2)).float()


@dataclass
class DiversityTally:
    """Sums of the pairwise difference over hinted and unhinted pixels, over a data split
    (pixel-weighted: every pixel of the split counts once)."""

    hinted_sum: float = 0.0
    hinted_pixels: int = 0
    unhinted_sum: float = 0.0
    unhinted_pixels: int = 0
    items: int = 0

    def add(self, pictures: torch.Tensor, mask: torch.Tensor) -> None:
        """One item: its variations (K, C, H, W) in [0, 1], and its hint mask ((H, W) or
        (1, H, W), hinted where ≥ 0.5)."""
        diff = pairwise_difference_map(pictures)
        hinted = mask.reshape(diff.shape) >= 0.5
        self.hinted_sum += float(diff[hinted].double().sum())
        self.hinted_pixels += int(hinted.sum())
        self.unhinted_sum += float(diff[~hinted].double().sum())
        self.unhinted_pixels += int((~hinted).sum())
        self.items += 1

    @property
    def hinted(self) -> float:
        """The mean on hinted pixels (NaN when no pixel was hinted)."""
        return self.hinted_sum / self.hinted_pixels if self.hinted_pixels else math.nan

    @property
    def unhinted(self) -> float:
        """The mean on the pixels without a hint (NaN when every pixel was hinted)."""
        return self.unhinted_sum / self.unhinted_pixels if self.unhinted_pixels else math.nan

    def report(self) -> dict[str, float | int | None]:
        """JSON-able: NaN becomes None."""

        def number(v: float) -> float | None:
            return None if math.isnan(v) else v

        return {
            "items": self.items,
            "hinted": number(self.hinted),
            "unhinted": number(self.unhinted),
            "hinted_pixels": self.hinted_pixels,
            "unhinted_pixels": self.unhinted_pixels,
        }
