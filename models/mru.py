"""SketchyGAN's Masked Residual Unit (Chen & Hays, 2018).

With x the incoming features and I the sketch resized to x's resolution:

    m = σ(Conv([x, I]))              mask: which features to pass on
    z = f(Conv([m ⊙ x, I]))          new features, computed from masked x and the sketch
    n = σ(Conv([x, I]))              gate: how much of the new features to take
    y = (1 − n) ⊙ x̂ + n ⊙ z          x̂ = x, or a 1×1 projection of x when channels or stride change

The sketch enters every unit, so the network sees the lines at every scale.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from models.layers import norm_layer


def resize_sketch(sketch: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Area-resize the sketch to `size` (a no-op when it already matches)."""
    if sketch.shape[-2:] == size:
        return sketch
    return F.adaptive_avg_pool2d(sketch, size)


def sketch_like(sketch: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """The sketch at x's size and in x's memory layout, ready for `torch.cat([x, sketch])`.

    A 1-channel tensor passes as contiguous in both layouts, so `.contiguous(memory_format=...)`
    keeps NCHW strides; `torch.cat` then falls back to NCHW and every convolution reading the
    result copies it back to channels_last. `.to(memory_format=...)` sets the strides (and
    returns the sketch itself when they are set already)."""
    sketch = resize_sketch(sketch, x.shape[-2:])
    channels_last = torch.channels_last
    if x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=channels_last):
        return sketch.to(memory_format=channels_last)
    return sketch


class MaskedResidualUnit(nn.Module):
    """One MRU. `stride=2` halves the resolution (encoder); see `UpMRU` for the decoder."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        sketch_channels: int = 1,
        *,
        stride: int = 1,
        kernel_size: int = 3,
        norm: str = "none",
        activation: str = "lrelu",
    ) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride must be 1 or 2, got {stride}")
        pad = kernel_size // 2
        cx = in_channels + sketch_channels
        self.stride = stride
        self.in_channels = in_channels
        if stride == 1:  # m and n read the same input at the same stride: one conv for both
            self.mask_gate = nn.Conv2d(cx, in_channels + out_channels, kernel_size, 1, pad)
        else:
            self.mask = nn.Conv2d(cx, in_channels, kernel_size, 1, pad)
            self.gate = nn.Conv2d(cx, out_channels, kernel_size, stride, pad)
        self.features = nn.Conv2d(cx, out_channels, kernel_size, stride, pad, bias=norm == "none")
        self.norm = norm_layer(norm, out_channels)
        self.act = nn.LeakyReLU(0.2) if activation == "lrelu" else nn.ReLU()
        if in_channels != out_channels or stride != 1:
            self.skip: nn.Module = nn.Conv2d(in_channels, out_channels, 1, stride, bias=False)
        else:
            self.skip = nn.Identity()

    def forward(self, x: torch.Tensor, sketch: torch.Tensor) -> torch.Tensor:
        s = sketch_like(sketch, x)
        xs = torch.cat([x, s], dim=1)
        if self.stride == 1:
            m, n = torch.sigmoid(self.mask_gate(xs)).split(
                [self.in_channels, self.mask_gate.out_channels - self.in_channels], dim=1
            )
        else:
            m = torch.sigmoid(self.mask(xs))
            n = torch.sigmoid(self.gate(xs))
        z = self.act(self.norm(self.features(torch.cat([m * x, s], dim=1))))
        return torch.lerp(self.skip(x), z, n)  # (1 − n)·x̂ + n·z


class UpMRU(nn.Module):
    """Decoder unit: upsample ×2 (nearest), merge the U-Net skip with a 1×1 conv, then an MRU
    at the new resolution with the sketch at that resolution."""

    def __init__(
        self,
        in_channels: int,
        skip_channels: int,
        out_channels: int,
        sketch_channels: int = 1,
        *,
        norm: str = "none",
    ) -> None:
        super().__init__()
        self.merge = nn.Conv2d(in_channels + skip_channels, out_channels, 1)
        self.unit = MaskedResidualUnit(
            out_channels, out_channels, sketch_channels, norm=norm, activation="relu"
        )

    def forward(self, x: torch.Tensor, skip: torch.Tensor, sketch: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[-2:], mode="nearest")
        return self.unit(self.merge(torch.cat([x, skip], dim=1)), sketch)
