"""High-resolution levels: thin up-MRU levels above the generator's trunk.

The trunk (the MRU encoder–decoder) paints at its own resolution R. Each level here doubles
the side: it projects the features below it to a few channels (1×1), upsamples them ×2
(nearest), and runs one MRU fed the sketch and hints at the new resolution, as every MRU is.
The lines of the picture thus come from the full-resolution sketch, not from upsampling.

The picture is the trunk's own, upsampled, plus what the levels add:

    out = bilinear(trunk picture) + head([x_top, condition])

with the head initialised to zero, so that untrained levels give the trunk's picture
smoothly enlarged, and training only has to learn the detail. The sum is not squashed: a tanh
on the trunk's logits plus the detail would pass no gradient where the trunk is sure (its
logits saturate), which is where it is wrong and sure that the levels must fix. Callers clamp
the picture to [-1, 1] for display.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from models.mru import MaskedResidualUnit, resize_sketch, sketch_like

Between = Callable[[], None] | None
"""Called between levels (e.g. to stop work that a newer request made stale by raising)."""


class HighResLevel(nn.Module):
    """One ×2 level: a 1×1 projection (done before the nearest upsampling, which it commutes
    with, at a quarter of the cost), then an MRU at the new resolution."""

    def __init__(self, in_channels: int, out_channels: int, condition_channels: int) -> None:
        super().__init__()
        self.project = nn.Conv2d(in_channels, out_channels, 1)
        self.unit = MaskedResidualUnit(
            out_channels, out_channels, condition_channels, norm="none", activation="relu"
        )

    def forward(self, x: torch.Tensor, condition: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(self.project(x), size=condition.shape[-2:], mode="nearest")
        return self.unit(x, condition)


class HighResLevels(nn.Module):
    """`widths[i]` channels at R·2^(i+1). `forward` takes the trunk's finest features and its
    picture, and the condition (sketch and hints) at the top resolution; the features, picture
    and condition may all be one matching crop of the whole (as in training)."""

    def __init__(
        self, trunk_channels: int, widths: Sequence[int], condition_channels: int, out_channels: int
    ) -> None:
        super().__init__()
        if not widths:
            raise ValueError("high-resolution levels need at least one width")
        ins = [trunk_channels, *widths[:-1]]
        self.levels = nn.ModuleList(
            HighResLevel(i, o, condition_channels) for i, o in zip(ins, widths, strict=True)
        )
        self.head = nn.Conv2d(widths[-1] + condition_channels, out_channels, 3, 1, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    @property
    def scale(self) -> int:
        return 2 ** len(self.levels)

    def forward(
        self,
        features: torch.Tensor,
        image: torch.Tensor,
        condition: torch.Tensor,
        between: Between = None,
    ) -> torch.Tensor:
        h, w = features.shape[-2:]
        if condition.shape[-2:] != (h * self.scale, w * self.scale):
            raise ValueError(
                f"the condition is {tuple(condition.shape[-2:])}; levels above features of "
                f"{h}×{w} need {h * self.scale}×{w * self.scale}"
            )
        x = features
        for i, level in enumerate(self.levels):
            side = 2 ** (i + 1)
            x = level(x, resize_sketch(condition, (h * side, w * side)))
            if between is not None:
                between()
        base = F.interpolate(image, size=condition.shape[-2:], mode="bilinear", align_corners=False)
        return base + self.head(torch.cat([x, sketch_like(condition, x)], dim=1))
