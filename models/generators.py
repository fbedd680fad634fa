"""Generators: the MRU encoder–decoder with conditional self-attention, and pix2pix's U-Net."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from models.attention import ConditionalSelfAttention
from models.config import GeneratorConfig
from models.layers import norm_layer
from models.mru import MaskedResidualUnit, UpMRU, sketch_like


def sketch_pyramid(sketch: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """[sketch, sketch/2, ..., sketch/2^levels] by 2×2 area averaging."""
    pyramid = [sketch]
    for _ in range(levels):
        pyramid.append(F.avg_pool2d(pyramid[-1], 2))
    return pyramid


class MRUGenerator(nn.Module):
    """Encoder–decoder of MRUs. The sketch is fed in at every scale; U-Net skips join matching
    scales; CSAM blocks follow the decoder units at `config.attention_levels`; tanh RGB out.

    Level l works at resolution / 2^l with `config.width(l)` channels. Optional noise maps
    (`noise_channels`) enter at the bottleneck, for variations of one sketch.
    """

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        if config.arch != "mru":
            raise ValueError(f"MRUGenerator needs arch='mru', got {config.arch!r}")
        self.config = config
        c, sc, depth = config.width, config.in_channels, config.depth
        self.stem = nn.Conv2d(sc, c(0), 3, 1, 1)
        self.encoder = nn.ModuleList(
            MaskedResidualUnit(c(l), c(l + 1), sc, stride=2, norm=config.norm) for l in range(depth)
        )
        self.noise_merge: nn.Module | None = None
        if config.noise_channels:
            self.noise_merge = nn.Conv2d(c(depth) + config.noise_channels, c(depth), 1)
        self.bottleneck = MaskedResidualUnit(c(depth), c(depth), sc, norm=config.norm)
        # decoder[i] produces level depth-1-i from level depth-i and the skip at its level
        self.decoder = nn.ModuleList(
            UpMRU(c(l + 1), c(l), c(l), sc, norm=config.norm) for l in reversed(range(depth))
        )
        self.attention = nn.ModuleDict(
            {
                str(l): ConditionalSelfAttention(c(l), sc, reduction=config.attention_reduction)
                for l in config.attention_levels
            }
        )
        self.head = nn.Conv2d(c(0) + sc, config.out_channels, 3, 1, 1)

    def forward(self, sketch: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        return self.forward_with_attention(sketch, noise)[0]

    def noise_shape(self, batch: int) -> tuple[int, int, int, int]:
        side = self.config.resolution // 2**self.config.depth
        return (batch, self.config.noise_channels, side, side)

    def forward_with_attention(
        self,
        sketch: torch.Tensor,
        noise: torch.Tensor | None = None,
        probe: tuple[float, float] | None = None,
    ) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
        """Returns (image, {level: weights}). With `probe` = (y, x) in [0, 1) image fractions,
        weights[level] is (B, H_l, W_l): where the attention at that level looked when it made
        the feature at the probed position. Without a probe the dict is empty."""
        depth = self.config.depth
        x = self.stem(sketch)
        # in x's layout once here: the pooled levels keep it, so no unit has to convert its own
        pyramid = sketch_pyramid(sketch_like(sketch, x), depth)
        skips = [x]
        for l, unit in enumerate(self.encoder):
            x = unit(x, pyramid[l])
            skips.append(x)
        if self.noise_merge is not None:
            if noise is None:
                noise = torch.randn(self.noise_shape(x.shape[0]), device=x.device, dtype=x.dtype)
            x = self.noise_merge(torch.cat([x, noise.to(x.dtype)], dim=1))
        x = self.bottleneck(x, pyramid[depth])
        weights: dict[int, torch.Tensor] = {}
        for i, unit in enumerate(self.decoder):
            level = depth - 1 - i
            x = unit(x, skips[level], pyramid[level])
            if str(level) not in self.attention:
                continue
            attn = self.attention[str(level)]
            if probe is None:
                x = attn(x, pyramid[level])
            else:
                h, w = x.shape[-2:]
                row = min(int(probe[0] * h), h - 1)
                col = min(int(probe[1] * w), w - 1)
                index = torch.tensor([row * w + col], device=x.device)
                x, wts = attn(x, pyramid[level], probe=index)
                weights[level] = wts[:, 0]
        out = torch.tanh(self.head(torch.cat([x, pyramid[0]], dim=1)))
        return out, weights


class _UNetBlock(nn.Module):
    """pix2pix's UnetSkipConnectionBlock: down → submodule → up, output concatenated with input
    (except at the outermost level)."""

    def __init__(
        self,
        outer: int,
        inner: int,
        in_channels: int | None = None,
        submodule: nn.Module | None = None,
        *,
        outermost: bool = False,
        innermost: bool = False,
        norm: str = "batch",
        dropout: bool = False,
    ) -> None:
        super().__init__()
        self.outermost = outermost
        use_bias = norm != "batch"
        in_channels = outer if in_channels is None else in_channels
        down = nn.Conv2d(in_channels, inner, 4, 2, 1, bias=use_bias)
        if outermost:
            up = nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1)
            layers = [down, submodule, nn.ReLU(True), up, nn.Tanh()]
        elif innermost:
            up = nn.ConvTranspose2d(inner, outer, 4, 2, 1, bias=use_bias)
            layers = [nn.LeakyReLU(0.2, True), down, nn.ReLU(True), up, norm_layer(norm, outer)]
        else:
            up = nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1, bias=use_bias)
            layers = [
                nn.LeakyReLU(0.2, True),
                down,
                norm_layer(norm, inner),
                submodule,
                nn.ReLU(True),
                up,
                norm_layer(norm, outer),
            ]
            if dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], 1)


class UNetGenerator(nn.Module):
    """pix2pix's U-Net generator (unet_128: num_downs=7, unet_256: num_downs=8), the baseline.
    It takes the sketch as its only input (noise is ignored: pix2pix relies on dropout)."""

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 3,
        num_downs: int = 7,
        ngf: int = 64,
        norm: str = "batch",
        dropout: bool = False,
    ) -> None:
        super().__init__()
        if num_downs < 5:
            raise ValueError("pix2pix's U-Net needs num_downs >= 5")
        self.config = GeneratorConfig(
            arch="unet",
            in_channels=in_channels,
            out_channels=out_channels,
            resolution=2**num_downs,
            base_width=ngf,
            depth=num_downs,
            norm=norm,
            attention_levels=(),
            dropout=dropout,
        )
        block = _UNetBlock(ngf * 8, ngf * 8, innermost=True, norm=norm)
        for _ in range(num_downs - 5):
            block = _UNetBlock(ngf * 8, ngf * 8, submodule=block, norm=norm, dropout=dropout)
        block = _UNetBlock(ngf * 4, ngf * 8, submodule=block, norm=norm)
        block = _UNetBlock(ngf * 2, ngf * 4, submodule=block, norm=norm)
        block = _UNetBlock(ngf, ngf * 2, submodule=block, norm=norm)
        self.model = _UNetBlock(out_channels, ngf, in_channels, block, outermost=True, norm=norm)

    @classmethod
    def from_config(cls, config: GeneratorConfig) -> UNetGenerator:
        return cls(
            config.in_channels,
            config.out_channels,
            config.depth,
            config.base_width,
            config.norm,
            config.dropout,
        )

    def forward(self, sketch: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        return self.model(sketch)

    def forward_with_attention(self, sketch, noise=None, probe=None):
        return self.model(sketch), {}
