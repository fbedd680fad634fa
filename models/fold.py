"""Inference-only rewrites: BatchNorm folded into the convolution before it.

In eval mode a BatchNorm is an affine map per channel, y = a·x + b with a = γ/√(var + ε) and
b = β − a·mean, so the convolution before it can absorb it: W' = a·W, bias' = a·bias + b. One
pass over the tensor is saved per unit. The networks' training code never sees folded units.
"""

from __future__ import annotations

import torch
from torch import nn

from models.mru import MaskedResidualUnit


def folded_conv(conv: nn.Conv2d, norm: nn.BatchNorm2d) -> nn.Conv2d:
    """A convolution computing norm(conv(x)) with `norm`'s running statistics."""
    if norm.running_mean is None or norm.running_var is None:
        raise ValueError("a BatchNorm without running statistics cannot be folded")
    with torch.no_grad():
        scale = torch.rsqrt(norm.running_var.float() + norm.eps)
        if norm.weight is not None:
            scale = scale * norm.weight.float()
        shift = -norm.running_mean.float() * scale
        if norm.bias is not None:
            shift = shift + norm.bias.float()
        out = nn.Conv2d(
            conv.in_channels,
            conv.out_channels,
            conv.kernel_size,  # type: ignore[arg-type]
            conv.stride,  # type: ignore[arg-type]
            conv.padding,  # type: ignore[arg-type]
            conv.dilation,  # type: ignore[arg-type]
            conv.groups,
            bias=True,
            padding_mode=conv.padding_mode,
        ).to(conv.weight.device)
        out.weight.copy_(conv.weight.float() * scale.view(-1, 1, 1, 1))
        bias = conv.bias.float() if conv.bias is not None else torch.zeros_like(shift)
        out.bias.copy_(bias * scale + shift)
    return out.to(conv.weight.dtype)


def fold_batchnorm(module: nn.Module) -> int:
    """Fold every MRU's BatchNorm into its feature convolution, in place (eval use only).
    Returns how many were folded."""
    count = 0
    for unit in module.modules():
        if isinstance(unit, MaskedResidualUnit) and isinstance(unit.norm, nn.BatchNorm2d):
            unit.features = folded_conv(unit.features, unit.norm)
            unit.norm = nn.Identity()
            count += 1
    return count
