"""Start a network from one that takes fewer inputs: a model without colour hints or noise
becomes the starting point of one with them, and behaves as before until training changes it.

Every condition is concatenated after the features it joins (`torch.cat([x, sketch])`), and the
hint channels after the ink, so the old input channels of each convolution are a prefix of
the new ones: their weights are copied and the new columns start at zero. A new noise merge
starts as the identity on the features (its noise columns keep their random start, so that
noise can matter once training asks for it).
"""

from __future__ import annotations

import torch
from torch import nn


def load_grown(network: nn.Module, saved: dict[str, torch.Tensor]) -> list[str]:
    """Load `saved` (a smaller network's state dict) into `network`; returns the names of
    the tensors that were widened or started fresh. A tensor that differs other than in its
    input channels is a ValueError (not the same network)."""
    own = network.state_dict()
    changed: list[str] = []
    out: dict[str, torch.Tensor] = {}
    for name, target in own.items():
        old = saved.get(name)
        if old is None:
            out[name] = _fresh(name, target, own)
            changed.append(name)
        elif old.shape == target.shape:
            out[name] = old
        elif old.dim() == target.dim() >= 2 and _prefix_of(old.shape, target.shape):
            wide = torch.zeros_like(target)
            wide[:, : old.shape[1]] = old
            out[name] = wide
            changed.append(name)
        else:
            raise ValueError(
                f"{name}: {tuple(old.shape)} cannot grow into {tuple(target.shape)}; only "
                "input channels may be added"
            )
    extra = sorted(set(saved) - set(own))
    if extra:
        raise ValueError(f"the saved network has tensors this one lacks: {', '.join(extra[:4])}")
    network.load_state_dict(out)
    return changed


def _prefix_of(old: torch.Size, new: torch.Size) -> bool:
    return old[0] == new[0] and old[1] < new[1] and old[2:] == new[2:]


def _fresh(name: str, target: torch.Tensor, own: dict[str, torch.Tensor]) -> torch.Tensor:
    """A tensor the old network did not have: the noise merge passes the features through."""
    if name.startswith("noise_merge."):
        if name.endswith("weight"):
            out_channels = target.shape[0]
            eye = torch.zeros_like(target)
            eye[:, :out_channels, 0, 0] = torch.eye(out_channels)
            eye[:, out_channels:] = target[:, out_channels:]
            return eye
        return torch.zeros_like(target)
    return target
