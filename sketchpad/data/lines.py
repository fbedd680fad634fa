"""Line drawings from photos: an XDoG (eXtended Difference of Gaussians) extractor.

Winnemöller et al., "XDoG: An eXtended difference-of-Gaussians compendium" (2012): the
difference of two blurs is negative on the dark side of every edge; a soft threshold turns
that into thin dark lines on white paper, and flat or textured areas into paper.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
import torch
import torch.nn.functional as F

from sketchpad.errors import ConfigError


@dataclass(frozen=True)
class LineParams:
    """XDoG settings. Pixel sizes are at the working resolution (work_scale × model resolution)."""

    sigma: float = 1.0
    """Inner blur (px). Larger: fewer, smoother, thicker lines."""
    k: float = 1.6
    """Outer blur = k × sigma."""
    tau: float = 0.98
    """Weight of the outer blur. Closer to 1: more lines, also in low contrast."""
    epsilon: float = -0.01
    """Threshold on the difference. Lower (more negative): only strong edges become lines."""
    phi: float = 200.0
    """Sharpness of the soft threshold: higher gives crisper, more binary lines."""
    work_scale: int = 2
    """Extraction runs at this multiple of the model resolution, then is area-averaged down."""
    normalize: bool = True
    """Stretch the photo's contrast (1st..99th percentile) before extracting."""

    def __post_init__(self) -> None:
        checks = {
            "sigma": self.sigma > 0,
            "k": self.k > 1,
            "tau": 0 < self.tau <= 1.5,
            "epsilon": -1 < self.epsilon < 1,
            "phi": self.phi > 0,
            "work_scale": isinstance(self.work_scale, int) and 1 <= self.work_scale <= 8,
        }
        for name, ok in checks.items():
            if not ok:
                raise ConfigError(f"LineParams.{name} = {getattr(self, name)!r} is out of range")

    @classmethod
    def parse(cls, text: str) -> LineParams:
        """Build from "sigma=1.2,tau=0.99" (the command-line form); unknown names are an error."""
        known = {f.name: f for f in fields(cls)}
        values: dict[str, object] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, sep, raw = part.partition("=")
            name = name.strip().replace("-", "_")
            if not sep or name not in known:
                raise ConfigError(
                    f"line setting {part!r} is not NAME=VALUE with NAME one of {', '.join(known)}"
                )
            try:
                if name == "normalize":
                    values[name] = raw.strip().lower() in ("1", "true", "yes", "on")
                elif name == "work_scale":
                    values[name] = int(raw)
                else:
                    values[name] = float(raw)
            except ValueError as exc:
                raise ConfigError(f"line setting {part!r}: {raw!r} is not a number") from exc
        return cls(**values)  # type: ignore[arg-type]


def gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Separable Gaussian blur of a (B, C, H, W) tensor, repeating the border pixels."""
    radius = max(1, math.ceil(3 * sigma))
    offsets = torch.arange(-radius, radius + 1, dtype=x.dtype)
    kernel = torch.exp(-(offsets**2) / (2 * sigma * sigma))
    kernel = kernel / kernel.sum()
    c = x.shape[1]
    horizontal = kernel.view(1, 1, 1, -1).repeat(c, 1, 1, 1)  # (C, 1, 1, K)
    vertical = kernel.view(1, 1, -1, 1).repeat(c, 1, 1, 1)  # (C, 1, K, 1)
    y = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="replicate"), horizontal, groups=c)
    return F.conv2d(F.pad(y, (0, 0, radius, radius), mode="replicate"), vertical, groups=c)


def extract_lines(gray: np.ndarray, params: LineParams | None = None) -> np.ndarray:
    """XDoG lines of a grey picture (H, W) uint8: returns (H, W) uint8, dark lines on white."""
    p = params or LineParams()
    x = torch.from_numpy(np.asarray(gray, dtype=np.float32) / 255.0)[None, None]  # (1, 1, H, W)
    if p.normalize:
        lo, hi = torch.quantile(
            x.flatten()[:: max(1, x.numel() // 65536)], torch.tensor([0.01, 0.99])
        )
        if hi - lo > 1e-3:
            x = ((x - lo) / (hi - lo)).clamp(0.0, 1.0)
    difference = gaussian_blur(x, p.sigma) - p.tau * gaussian_blur(x, p.k * p.sigma)
    soft = 1.0 + torch.tanh(p.phi * (difference - p.epsilon))
    out = torch.where(difference >= p.epsilon, torch.ones_like(x), soft)
    return (out[0, 0] * 255.0).round().clamp(0, 255).to(torch.uint8).numpy()
