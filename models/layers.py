"""Small building blocks shared by the networks: normalisation and convolution factories."""

from __future__ import annotations

from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _spectral_norm

NORMS = ("none", "batch", "instance")


def norm_layer(kind: str, channels: int) -> nn.Module:
    """A 2-D normalisation layer by name; "none" gives an identity."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm {kind!r}; expected one of {', '.join(NORMS)}")


def conv2d(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    stride: int = 1,
    padding: int = 0,
    *,
    bias: bool = True,
    spectral: bool = False,
) -> nn.Module:
    conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=bias)
    return _spectral_norm(conv) if spectral else conv
