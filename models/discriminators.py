"""Conditional discriminators. Each takes (sketch, image), concatenates them, and returns a list
of patch-logit maps ordered fine to coarse; with `features=True` also the intermediate
activations of each map's path, for feature matching.

- `PatchDiscriminator`: pix2pix's NLayerDiscriminator, layer for layer.
- `MultiscaleDiscriminator`: pix2pixHD's `num_d` PatchGANs on an average-pooled pyramid.
- `SharedTrunkDiscriminator`: ours. PatchGAN branches of growing depth share their first
  convolutions; the deepest branch ends in a convolution that spans its whole feature map, so
  it sees the whole image and gives one score.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from models.config import DiscriminatorConfig
from models.layers import conv2d, norm_layer
from models.receptive_field import receptive_field_of

Logits = list[torch.Tensor]
Features = list[list[torch.Tensor]]


def _block(cin: int, cout: int, stride: int, norm: str, spectral: bool, first: bool = False):
    """4×4 conv (padding 1) + norm + LeakyReLU(0.2); no bias before a BatchNorm."""
    use_norm = not first and norm != "none"
    layers = [
        conv2d(cin, cout, 4, stride, 1, bias=not (use_norm and norm == "batch"), spectral=spectral)
    ]
    if use_norm:
        layers.append(norm_layer(norm, cout))
    layers.append(nn.LeakyReLU(0.2, True))
    return nn.Sequential(*layers)


def _require_arch(network: nn.Module, config: DiscriminatorConfig, arch: str) -> None:
    if config.arch != arch:
        raise ValueError(f"{type(network).__name__} needs arch={arch!r}, got {config.arch!r}")


def _run(blocks: nn.ModuleList | list[nn.Module], x: torch.Tensor, feats: list[torch.Tensor]):
    for block in blocks:
        x = block(x)
        feats.append(x)
    return x


class PatchDiscriminator(nn.Module):
    """pix2pix's 70×70 PatchGAN (n_layers=3): 4×4 convs, stride 2 then 1, padding 1,
    LeakyReLU 0.2, widths ndf·min(2^n, 8)."""

    def __init__(self, config: DiscriminatorConfig) -> None:
        super().__init__()
        _require_arch(self, config, "patch")
        self.config = config
        ndf, n_layers, norm, spectral = config.ndf, config.n_layers, config.norm, config.spectral
        mult = [min(2**n, config.max_mult) for n in range(n_layers + 1)]
        blocks = [_block(config.in_channels, ndf, 2, norm, spectral, first=True)]
        for n in range(1, n_layers):
            blocks.append(_block(ndf * mult[n - 1], ndf * mult[n], 2, norm, spectral))
        blocks.append(_block(ndf * mult[n_layers - 1], ndf * mult[n_layers], 1, norm, spectral))
        self.blocks = nn.ModuleList(blocks)
        self.out = conv2d(ndf * mult[n_layers], 1, 4, 1, 1, spectral=spectral)

    def branch_layers(self) -> list[list[nn.Module]]:
        return [[*self.blocks, self.out]]

    def branch_names(self, resolution: int) -> list[str]:
        return _names(self, resolution)

    def forward(self, sketch: torch.Tensor, image: torch.Tensor, *, features: bool = False):
        feats: list[torch.Tensor] = []
        x = _run(self.blocks, torch.cat([sketch, image], 1), feats)
        logits = [self.out(x)]
        return (logits, [feats]) if features else logits


class MultiscaleDiscriminator(nn.Module):
    """pix2pixHD: `num_d` independent PatchGANs; the input is downsampled between scales by
    AvgPool2d(3, stride 2, padding 1, count_include_pad=False). Output 0 is the full scale."""

    def __init__(self, config: DiscriminatorConfig) -> None:
        super().__init__()
        _require_arch(self, config, "multiscale")
        self.config = config
        scale = dataclasses.replace(config, arch="patch")
        self.scales = nn.ModuleList(PatchDiscriminator(scale) for _ in range(config.num_d))
        self.downsample = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)

    def branch_layers(self) -> list[list[nn.Module]]:
        return [[self.downsample] * i + d.branch_layers()[0] for i, d in enumerate(self.scales)]

    def branch_names(self, resolution: int) -> list[str]:
        return [f"scale 1/{2**i}, {name}" for i, name in enumerate(_names(self, resolution))]

    def forward(self, sketch: torch.Tensor, image: torch.Tensor, *, features: bool = False):
        x = torch.cat([sketch, image], 1)
        logits: Logits = []
        feats: Features = []
        for i, d in enumerate(self.scales):
            if i:
                x = self.downsample(x)
            f: list[torch.Tensor] = []
            logits.append(d.out(_run(d.blocks, x, f)))
            feats.append(f)
        return (logits, feats) if features else logits


class SharedTrunkDiscriminator(nn.Module):
    """Ours: `branches` PatchGAN branches that share their first `shared_layers` stride-2
    convolutions. Branch b (all but the last) is pix2pix's NLayerDiscriminator with
    n_layers = 3 + b whose first layers are the shared trunk: receptive fields 70, 142, 286 px.
    The last branch keeps downsampling until its map is at most 4×4 (and at least one level
    deeper than the branch before), then a convolution spanning the whole map gives one score:
    it sees the whole image. The config checks that the resolution allows the halvings; the
    receptive-field calculator checks the built branches."""

    def __init__(self, config: DiscriminatorConfig) -> None:
        super().__init__()
        _require_arch(self, config, "shared_trunk")
        self.config = config
        self.resolution = config.resolution
        norm, spectral, shared = config.norm, config.spectral, config.shared_layers
        width = [config.ndf * min(2**n, config.max_mult) for n in range(16)]
        global_downs = config.global_downs()
        side = config.resolution // 2**global_downs  # the global branch's last map: side × side
        in_width = [config.in_channels, *width]  # in_width[n]: channels into layer n
        self.trunk = nn.ModuleList(
            _block(in_width[n], width[n], 2, norm, spectral, first=n == 0) for n in range(shared)
        )
        self.branch_blocks = nn.ModuleList()
        self.branch_out = nn.ModuleList()
        for downs in config.patch_downs():
            blocks = [
                _block(width[n - 1], width[n], 2, norm, spectral) for n in range(shared, downs)
            ]
            blocks.append(_block(width[downs - 1], width[downs], 1, norm, spectral))
            self.branch_blocks.append(nn.ModuleList(blocks))
            self.branch_out.append(conv2d(width[downs], 1, 4, 1, 1, spectral=spectral))
        blocks = [
            _block(width[n - 1], width[n], 2, norm, spectral) for n in range(shared, global_downs)
        ]
        self.branch_blocks.append(nn.ModuleList(blocks))
        self.branch_out.append(conv2d(width[global_downs - 1], 1, side, 1, 0, spectral=spectral))
        self._validate(config.resolution)

    def _validate(self, resolution: int) -> None:
        fields = [receptive_field_of(chain, resolution) for chain in self.branch_layers()]
        for b, field in enumerate(fields[:-1]):
            if field.output_size[0] < 1:
                raise ValueError(f"branch {b} has no output at resolution {resolution}")
        sizes = [f.size for f in fields[:-1]]
        if sizes != sorted(set(sizes)):
            raise ValueError(f"branch receptive fields must grow, got {sizes}")
        if not fields[-1].is_global or fields[-1].output_size != (1, 1):
            raise ValueError(
                f"the deepest branch does not see the whole {resolution}×{resolution} input "
                f"(receptive field {fields[-1].size}, output {fields[-1].output_size}); "
                "change the resolution or the number of branches"
            )

    def branch_layers(self) -> list[list[nn.Module]]:
        return [
            [*self.trunk, *blocks, out]
            for blocks, out in zip(self.branch_blocks, self.branch_out, strict=True)
        ]

    def branch_names(self, resolution: int) -> list[str]:
        return _names(self, resolution)

    def forward(self, sketch: torch.Tensor, image: torch.Tensor, *, features: bool = False):
        trunk_feats: list[torch.Tensor] = []
        x = _run(self.trunk, torch.cat([sketch, image], 1), trunk_feats)
        logits: Logits = []
        feats: Features = []
        for blocks, out in zip(self.branch_blocks, self.branch_out, strict=True):
            f = list(trunk_feats)
            logits.append(out(_run(blocks, x, f)))
            feats.append(f)
        return (logits, feats) if features else logits


def _names(module: nn.Module, resolution: int) -> list[str]:
    """Human labels per output map: "70 px patches", ..., "global" for a whole-image branch."""
    names = []
    for chain in module.branch_layers():
        field = receptive_field_of(chain, resolution)
        names.append(
            "global"
            if field.output_size == (1, 1) and field.is_global
            else f"{field.size} px patches"
        )
    return names
