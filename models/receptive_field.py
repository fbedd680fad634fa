"""Receptive fields measured from a network's actual layers.

`receptive_fields(module, input_size)` walks, for each output map of a discriminator, the
chain of layers that leads to it (`module.branch_layers()`, or the module's own children in
order), reads each convolution's and pooling layer's kernel, stride, padding and dilation,
and returns for every output map its receptive-field size, jump (input pixels between
neighbouring output cells), offset (centre of cell (0, 0) in input pixels) and output size,
with `window(i, j)` to map an output cell to its input window. Layers without spatial extent
(norms, activations) do not change the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import nn

_SPATIAL = (nn.Conv2d, nn.AvgPool2d, nn.MaxPool2d)


def _pair(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


@dataclass(frozen=True)
class LayerGeometry:
    kernel: int
    stride: int
    padding: int
    dilation: int = 1

    @classmethod
    def of(cls, layer: nn.Module) -> LayerGeometry:
        k, s = _pair(layer.kernel_size), _pair(layer.stride or layer.kernel_size)
        p = layer.padding
        if isinstance(p, str):
            raise ValueError(f"string padding {p!r} is not supported by the calculator")
        p = _pair(p)
        d = _pair(getattr(layer, "dilation", 1))
        if k[0] != k[1] or s[0] != s[1] or p[0] != p[1] or d[0] != d[1]:
            raise ValueError(f"{type(layer).__name__}: only square kernels are supported")
        return cls(k[0], s[0], p[0], d[0])


@dataclass(frozen=True)
class ReceptiveField:
    """Receptive field of one output map. Coordinates are input pixels (integer = pixel index)."""

    size: int  # side of the square window one output cell sees
    jump: int  # input pixels between neighbouring output cells
    start: float  # centre of cell (0, 0)
    output_size: tuple[int, int]  # (H, W) of the output map
    input_size: tuple[int, int]
    per_layer: tuple[int, ...]  # field of one output cell on the input of each layer

    def window(self, i: int, j: int, clip: bool = True) -> tuple[int, int, int, int]:
        """(top, left, bottom, right) of cell (i, j)'s window, bottom/right exclusive;
        clipped to the input by default."""
        half = (self.size - 1) / 2
        top = round(self.start + i * self.jump - half)
        left = round(self.start + j * self.jump - half)
        bottom, right = top + self.size, left + self.size
        if clip:
            h, w = self.input_size
            top, left = max(top, 0), max(left, 0)
            bottom, right = min(bottom, h), min(right, w)
        return top, left, bottom, right

    @property
    def is_global(self) -> bool:
        """True when every output cell's window covers the whole input."""
        h, w = self.input_size
        oh, ow = self.output_size
        return all(
            self.window(i, j, clip=False)[0] <= 0
            and self.window(i, j, clip=False)[1] <= 0
            and self.window(i, j, clip=False)[2] >= h
            and self.window(i, j, clip=False)[3] >= w
            for i in (0, oh - 1)
            for j in (0, ow - 1)
        )


def _flatten(module: nn.Module) -> list[nn.Module]:
    if isinstance(module, _SPATIAL):
        return [module]
    children = list(module.children())
    if not children:
        return [module]
    out: list[nn.Module] = []
    for child in children:
        out.extend(_flatten(child))
    return out


def receptive_field_of(layers: Sequence[nn.Module], input_size: int | tuple[int, int]):
    """Receptive field of the output of `layers` applied in order to an input of `input_size`."""
    size_hw = _pair(input_size)
    geoms = [LayerGeometry.of(layer) for layer in _flatten_all(layers)]
    rf, jump, start = 1, 1, 0.0
    h, w = size_hw
    for g in geoms:
        k = g.dilation * (g.kernel - 1) + 1
        start += ((k - 1) / 2 - g.padding) * jump
        rf += (k - 1) * jump
        jump *= g.stride
        h = (h + 2 * g.padding - k) // g.stride + 1
        w = (w + 2 * g.padding - k) // g.stride + 1
        if h < 1 or w < 1:
            raise ValueError(
                f"input {size_hw[0]}×{size_hw[1]} is too small for these layers: "
                f"the map vanishes after a {g.kernel}×{g.kernel}/{g.stride} layer"
            )
    # pix2pix's receptive_field_sizes: one output cell's field on each layer's input, from the top
    per_layer = [1]
    for g in reversed(geoms):
        k = g.dilation * (g.kernel - 1) + 1
        per_layer.append((per_layer[-1] - 1) * g.stride + k)
    return ReceptiveField(rf, jump, start, (h, w), size_hw, tuple(reversed(per_layer[1:])))


def _flatten_all(layers: Sequence[nn.Module]) -> list[nn.Module]:
    out = []
    for layer in layers:
        out.extend(m for m in _flatten(layer) if isinstance(m, _SPATIAL))
    return out


def receptive_fields(module: nn.Module, input_size: int | tuple[int, int]) -> list[ReceptiveField]:
    """One `ReceptiveField` per output map of `module`, in the module's output order."""
    chains = module.branch_layers() if hasattr(module, "branch_layers") else [[module]]
    return [receptive_field_of(chain, input_size) for chain in chains]
