"""Generators: the MRU encoder–decoder with conditional self-attention, and pix2pix's U-Net."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from models.attention import ConditionalSelfAttention
from models.config import UNET_MIN_DEPTH, GeneratorConfig
from models.highres import Between, HighResLevels
from models.layers import norm_layer
from models.mru import MaskedResidualUnit, UpMRU, sketch_like


def sketch_pyramid(sketch: torch.Tensor, levels: int) -> list[torch.Tensor]:
    """[sketch, sketch/2, ..., sketch/2^levels] by 2×2 area averaging."""
    pyramid = [sketch]
    for _ in range(levels):
        pyramid.append(F.avg_pool2d(pyramid[-1], 2))
    return pyramid


def with_hints(sketch: torch.Tensor, hints: torch.Tensor | None, channels: int) -> torch.Tensor:
    """The generator's condition: the sketch, then `channels` hint channels (zeros: no hint).
    Hints given to a generator without hint inputs are ignored."""
    if not channels:
        return sketch
    if hints is None:
        hints = sketch.new_zeros(sketch.shape[0], channels, *sketch.shape[-2:])
    elif hints.shape[1] != channels or hints.shape[-2:] != sketch.shape[-2:]:
        raise ValueError(
            f"hints of shape {tuple(hints.shape)} do not match the sketch {tuple(sketch.shape)} "
            f"with {channels} hint channels"
        )
    return torch.cat([sketch, hints.to(sketch.dtype)], dim=1)


@dataclass
class Trunk:
    """What the trunk made: its picture, and what the high-resolution levels start from (its
    finest features and its picture before the tanh), kept so that the full picture does not
    recompute the trunk. `attention` maps a probed level to its weights."""

    image: torch.Tensor  # (B, 3, R, R) in [-1, 1]
    features: torch.Tensor  # (B, width(0), R, R)
    logits: torch.Tensor  # (B, 3, R, R)
    attention: dict[int, torch.Tensor]


class MRUGenerator(nn.Module):
    """Encoder–decoder of MRUs. The sketch is fed in at every scale; U-Net skips join matching
    scales; CSAM blocks follow the decoder units at `config.attention_levels`; tanh RGB out.

    Level `level` works at resolution / 2^level with `config.width(level)` channels. Optional
    noise maps (`noise_channels`) enter at the bottleneck, for variations of one sketch: one
    vector per bottleneck cell, or (`noise_global`) one per picture, spread over the cells.

    With `config.highres_widths`, high-resolution levels (`models.highres`) paint the full
    picture above the trunk: `forward` is the trunk's picture (what the trainer's losses and
    the live preview use), `full` the picture at `config.output_resolution`.
    """

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        if config.arch != "mru":
            raise ValueError(f"MRUGenerator needs arch='mru', got {config.arch!r}")
        self.config = config
        width, depth, norm = config.width, config.depth, config.norm
        sketch_channels = config.condition_channels  # the sketch and the hints, at every scale
        self.stem = nn.Conv2d(sketch_channels, width(0), 3, 1, 1)
        self.encoder = nn.ModuleList(
            MaskedResidualUnit(width(level), width(level + 1), sketch_channels, stride=2, norm=norm)
            for level in range(depth)
        )
        self.noise_merge: nn.Module | None = None
        if config.noise_channels:
            self.noise_merge = nn.Conv2d(width(depth) + config.noise_channels, width(depth), 1)
        self.bottleneck = MaskedResidualUnit(width(depth), width(depth), sketch_channels, norm=norm)
        # decoder[i] produces level depth-1-i from level depth-i and the skip at its level
        self.decoder = nn.ModuleList(
            UpMRU(width(level + 1), width(level), width(level), sketch_channels, norm=norm)
            for level in reversed(range(depth))
        )
        self.attention = nn.ModuleDict(
            {
                str(level): ConditionalSelfAttention(
                    width(level), sketch_channels, reduction=config.attention_reduction
                )
                for level in config.attention_levels
            }
        )
        self.head = nn.Conv2d(width(0) + sketch_channels, config.out_channels, 3, 1, 1)
        self.highres: HighResLevels | None = None
        if config.highres_widths:
            self.highres = HighResLevels(
                width(0), config.highres_widths, sketch_channels, config.out_channels
            )

    def forward(
        self,
        sketch: torch.Tensor,
        noise: torch.Tensor | None = None,
        hints: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return self.forward_with_attention(sketch, noise, hints=hints)[0]

    def noise_shape(self, batch: int) -> tuple[int, int, int, int]:
        side = 1 if self.config.noise_global else self.config.resolution // 2**self.config.depth
        return (batch, self.config.noise_channels, side, side)

    def forward_with_attention(
        self,
        sketch: torch.Tensor,
        noise: torch.Tensor | None = None,
        probe: tuple[float, float] | None = None,
        hints: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, dict[int, torch.Tensor]]:
        """Returns (image, {level: weights}). With `probe` = (y, x) in [0, 1) image fractions,
        weights[level] is (B, H_l, W_l): where the attention at that level looked when it made
        the feature at the probed position. Without a probe the dict is empty. `hints`
        (B, hint_channels, R, R) joins the sketch at every scale (None: no hint)."""
        trunk = self.trunk(sketch, noise, probe, hints)
        return trunk.image, trunk.attention

    def trunk(
        self,
        sketch: torch.Tensor,
        noise: torch.Tensor | None = None,
        probe: tuple[float, float] | None = None,
        hints: torch.Tensor | None = None,
        between: Between = None,
    ) -> Trunk:
        """The trunk's picture at `config.resolution` and what the high-resolution levels
        need. `between` is called after each unit (it may raise to stop stale work)."""
        depth = self.config.depth
        step = between or (lambda: None)
        sketch = with_hints(sketch, hints, self.config.hint_channels)
        x = self.stem(sketch)
        # in x's layout once here: the pooled levels keep it, so no unit has to convert its own
        pyramid = sketch_pyramid(sketch_like(sketch, x), depth)
        skips = [x]
        for level, unit in enumerate(self.encoder):
            x = unit(x, pyramid[level])
            skips.append(x)
            step()
        if self.noise_merge is not None:
            shape = self.noise_shape(x.shape[0])
            if noise is None:
                noise = torch.randn(shape, device=x.device, dtype=x.dtype)
            if tuple(noise.shape) != shape:
                raise ValueError(
                    f"noise of shape {tuple(noise.shape)} does not match this generator's "
                    f"{shape} (see noise_shape)"
                )
            noise = noise.to(x.dtype).expand(-1, -1, *x.shape[-2:])  # a global one: spread
            x = self.noise_merge(torch.cat([x, noise], dim=1))
        x = self.bottleneck(x, pyramid[depth])
        weights: dict[int, torch.Tensor] = {}
        for i, unit in enumerate(self.decoder):
            level = depth - 1 - i
            x = unit(x, skips[level], pyramid[level])
            step()
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
        logits = self.head(torch.cat([x, pyramid[0]], dim=1))
        return Trunk(torch.tanh(logits), x, logits, weights)

    def full(
        self,
        trunk: Trunk,
        sketch: torch.Tensor,
        hints: torch.Tensor | None = None,
        between: Between = None,
    ) -> torch.Tensor:
        """The full picture (B, 3, R_out, R_out) from a trunk's output and the sketch (and
        hints) at `config.output_resolution`, in [-1, 1] (not clamped while gradients are on:
        the losses see the levels' own sums); the trunk's own picture for a generator without
        high-resolution levels."""
        if self.highres is None:
            return trunk.image
        condition = with_hints(sketch, hints, self.config.hint_channels)
        out = self.highres(trunk.features, trunk.image, condition, between)
        return out if torch.is_grad_enabled() else out.clamp(-1.0, 1.0)

    def full_picture(
        self,
        sketch: torch.Tensor,
        noise: torch.Tensor | None = None,
        hints: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Trunk and levels in one call, from the sketch (and hints) at the output resolution:
        the trunk sees them area-resized to its own."""
        r = self.config.resolution
        small = F.adaptive_avg_pool2d(sketch, (r, r)) if sketch.shape[-1] != r else sketch
        small_hints = hints
        if hints is not None and hints.shape[-1] != r:
            small_hints = F.adaptive_avg_pool2d(hints, (r, r))
        return self.full(self.trunk(small, noise, hints=small_hints), sketch, hints)


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
    """pix2pix's U-Net generator, the baseline: `config.depth` is pix2pix's num_downs
    (unet_128: 7, unet_256: 8) and `config.base_width` its ngf. It takes the sketch as its only
    input (noise is ignored: pix2pix relies on dropout)."""

    def __init__(self, config: GeneratorConfig) -> None:
        super().__init__()
        if config.arch != "unet":
            raise ValueError(f"UNetGenerator needs arch='unet', got {config.arch!r}")
        self.config = config
        ngf, norm, dropout = config.base_width, config.norm, config.dropout
        block = _UNetBlock(ngf * 8, ngf * 8, innermost=True, norm=norm)
        for _ in range(config.depth - UNET_MIN_DEPTH):
            block = _UNetBlock(ngf * 8, ngf * 8, submodule=block, norm=norm, dropout=dropout)
        block = _UNetBlock(ngf * 4, ngf * 8, submodule=block, norm=norm)
        block = _UNetBlock(ngf * 2, ngf * 4, submodule=block, norm=norm)
        block = _UNetBlock(ngf, ngf * 2, submodule=block, norm=norm)
        self.model = _UNetBlock(
            config.out_channels, ngf, config.condition_channels, block, outermost=True, norm=norm
        )

    def forward(
        self,
        sketch: torch.Tensor,
        noise: torch.Tensor | None = None,
        hints: torch.Tensor | None = None,
    ) -> torch.Tensor:
        return self.model(with_hints(sketch, hints, self.config.hint_channels))

    def forward_with_attention(self, sketch, noise=None, probe=None, hints=None):
        return self.forward(sketch, noise, hints), {}
