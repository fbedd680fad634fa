"""Conditional self-attention (CSAM): SAGAN's self-attention (Zhang et al., 2019) with the
sketch, resized to the feature size, concatenated to the features before the 1×1 convs.

    f, g: 1×1 convs to C/r channels (keys, queries); h: 1×1 conv to the values
    β_j = softmax_i(f(x_i)ᵀ g(x_j))   attention of output position j over all positions i
    o_j = v(Σ_i β_{j,i} h(x_i))
With the output conv (default, as in the SAGAN paper) h maps to C/r channels and v back to C;
without it h maps to C and v is the identity.
    y = x + γ·o,  γ a learnable scalar initialised to 0 (the block starts as the identity)

In normal use the N×N matrix is never built: torch's scaled_dot_product_attention fuses it.
For the app's attention probe, `forward(..., probe=idx)` also returns β rows for chosen queries.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from models.mru import sketch_like


class ConditionalSelfAttention(nn.Module):
    def __init__(
        self,
        channels: int,
        sketch_channels: int = 1,
        *,
        reduction: int = 8,
        output_conv: bool = True,
    ) -> None:
        super().__init__()
        if channels < 1 or reduction < 1:
            raise ValueError("channels and reduction must be positive")
        inner = max(1, channels // reduction)
        cx = channels + sketch_channels
        self.f = nn.Conv2d(cx, inner, 1)  # keys
        self.g = nn.Conv2d(cx, inner, 1)  # queries
        self.h = nn.Conv2d(cx, inner if output_conv else channels, 1)  # values
        self.v: nn.Module = nn.Conv2d(inner, channels, 1) if output_conv else nn.Identity()
        self.gamma = nn.Parameter(torch.zeros(()))

    def _qkv(self, x: torch.Tensor, sketch: torch.Tensor):
        xs = torch.cat([x, sketch_like(sketch, x)], dim=1)
        q = self.g(xs).flatten(2).transpose(1, 2).contiguous()  # (B, N, C/r)
        k = self.f(xs).flatten(2).transpose(1, 2).contiguous()  # (B, N, C/r)
        v = self.h(xs).flatten(2).transpose(1, 2).contiguous()  # (B, N, Cv)
        return q, k, v

    def forward(
        self, x: torch.Tensor, sketch: torch.Tensor, probe: torch.Tensor | None = None
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """`probe`: (Q,) flat query indices (row * W + col). With a probe, returns
        (y, weights) where weights is (B, Q, H, W): each query's attention over positions."""
        b, c, h, w = x.shape
        q, k, v = self._qkv(x, sketch)
        if v.shape[-1] != q.shape[-1]:
            # fused kernels want one head size: zero channels leave fᵀg unchanged
            pad = v.shape[-1] - q.shape[-1]
            q, k = F.pad(q, (0, pad)), F.pad(k, (0, pad))
        # SAGAN uses the raw dot product (no 1/√d scaling). One head: (B, 1, N, d) takes the
        # fused flash kernel on CPU too.
        o = F.scaled_dot_product_attention(q[:, None], k[:, None], v[:, None], scale=1.0)
        o = self.v(o[:, 0].transpose(1, 2).reshape(b, -1, h, w))  # (B, Cv, H, W) -> (B, C, H, W)
        y = x + self.gamma * o
        if probe is None:
            return y
        logits = q[:, probe].float() @ k.float().transpose(1, 2)  # (B, Q, N)
        weights = torch.softmax(logits, dim=-1).reshape(b, len(probe), h, w)
        return y, weights

    def attention_matrix(self, x: torch.Tensor, sketch: torch.Tensor) -> torch.Tensor:
        """The full (B, N, N) softmax, row j = output position j. Small inputs only (tests)."""
        q, k, _ = self._qkv(x, sketch)
        return torch.softmax(q @ k.transpose(1, 2), dim=-1)
