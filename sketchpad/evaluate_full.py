"""The full picture measured at its own resolution (`sketchpad eval --full`).

Each test pair is rendered at the model's output resolution. Three pictures are compared with
that render of the target:

- `full`: the model's full picture (trunk, then the high-resolution levels);
- `bicubic`: the trunk's picture of the same sketch upscaled bicubically (what the app showed
  before the levels);
- optionally `baseline`: another model's picture upscaled bicubically (e.g. today's default).

Scores: L1 (in [0, 1] units), PSNR and SSIM, and edge sharpness: the mean gradient magnitude
(Sobel, on grey) of the picture on the target's line pixels, as a fraction of the target's own
there. The line pixels are the edges of the line art (where its ink changes: a line's two
sides), since the inside of a wide line is flat in the target and in a blurred picture alike.
A blurred line scores well below 1; a crisp one near 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from sketchpad.evaluate import draw_noise
from sketchpad.metrics import l1, psnr, ssim, summarize, to_unit

LINE_EDGE = 0.1
"""A pixel is a line pixel where the line art's ink gradient (Sobel/8: a hard 0→1 step gives
0.5 beside it) is at least this."""


def grey(images01: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) in [0, 1] → (B, 1, H, W) luma (ITU-R 601)."""
    w = torch.tensor([0.299, 0.587, 0.114], device=images01.device).view(1, 3, 1, 1)
    return (images01 * w).sum(1, keepdim=True)


def gradient_magnitude(images01: torch.Tensor) -> torch.Tensor:
    """Sobel gradient magnitude of the grey picture, (B, 1, H, W) (replicated borders)."""
    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]) / 8.0
    kernels = torch.stack([kx, kx.t()])[:, None].to(images01.device)  # (2, 1, 3, 3)
    g = F.conv2d(F.pad(grey(images01), (1, 1, 1, 1), mode="replicate"), kernels)
    return g.square().sum(1, keepdim=True).sqrt()


def line_pixels(ink: torch.Tensor) -> torch.Tensor:
    """(B, 1, H, W) bool: the edges of the line art `ink` (B, 1, H, W) in [0, 1]."""
    return gradient_magnitude(ink.expand(-1, 3, -1, -1)) >= LINE_EDGE


def sharpness(picture01: torch.Tensor, target01: torch.Tensor, lines: torch.Tensor) -> torch.Tensor:
    """Per image: mean gradient magnitude of `picture01` on the line pixels (`lines`: (B, 1,
    H, W) bool) over the target's own there, (B,). NaN for an image without line pixels."""
    gp, gt = gradient_magnitude(picture01), gradient_magnitude(target01)
    m = lines.float()
    count = m.flatten(1).sum(1)
    own = (gt * m).flatten(1).sum(1) / count.clamp_min(1)
    got = (gp * m).flatten(1).sum(1) / count.clamp_min(1)
    return torch.where(count > 0, got / own.clamp_min(1e-8), torch.full_like(got, float("nan")))


def bicubic(images: torch.Tensor, side: int) -> torch.Tensor:
    """(B, 3, r, r) in [-1, 1] upscaled to side × side by PIL's bicubic filter (as an image
    viewer or `QImage.scaled` would), back in [-1, 1]."""
    out = []
    for image in images:
        rgb = ((image.float().clamp(-1, 1) + 1) * 127.5).round().byte().permute(1, 2, 0).numpy()
        big = Image.fromarray(rgb).resize((side, side), Image.Resampling.BICUBIC)
        out.append(torch.from_numpy(np.asarray(big).copy()).permute(2, 0, 1).float() / 127.5 - 1)
    return torch.stack(out)


def _scores(picture: torch.Tensor, target: torch.Tensor, lines: torch.Tensor) -> dict[str, list]:
    p, t = to_unit(picture), to_unit(target)
    return {
        "l1": l1(p, t).tolist(),
        "psnr": psnr(p, t).tolist(),
        "ssim": ssim(p, t).tolist(),
        "sharpness": sharpness(p, t, lines).tolist(),
    }


def evaluate_full(
    generator: nn.Module,
    items: Sequence[dict[str, Any]],
    trunk_resolution: int,
    *,
    baseline: nn.Module | None = None,
    batch: int = 4,
    seed: int = 0,
) -> dict[str, Any]:
    """`items`: dataset items at the output resolution (sketch (1, R, R), image (3, R, R)).
    A generator with noise gets noise drawn from `seed`, so that one call repeats another.
    Returns per-picture-kind medians and means of psnr, ssim and sharpness, the per-item
    scores, and the target's own sharpness (1 by definition, as a check)."""
    per: dict[str, dict[str, list]] = {}
    rng = torch.Generator().manual_seed(seed)
    baseline_rng = torch.Generator().manual_seed(seed)  # its own: the model's draws stay put
    with torch.inference_mode():
        for start in range(0, len(items), batch):
            chunk = items[start : start + batch]
            sketch = torch.stack([it["sketch"] for it in chunk])  # (B, 1, R, R)
            target = torch.stack([it["image"] for it in chunk])
            side = sketch.shape[-1]
            small = F.adaptive_avg_pool2d(sketch, (trunk_resolution, trunk_resolution))
            lines = line_pixels(sketch)
            trunk = generator.trunk(small, draw_noise(generator, len(chunk), rng))
            pictures = {
                "full": generator.full(trunk, sketch),
                "bicubic": bicubic(trunk.image, side),
            }
            if baseline is not None:
                pictures["baseline"] = bicubic(
                    baseline(small, draw_noise(baseline, len(chunk), baseline_rng)), side
                )
            for kind, picture in pictures.items():
                for key, values in _scores(picture, target, lines).items():
                    per.setdefault(kind, {}).setdefault(key, []).extend(values)
    report: dict[str, Any] = {"count": len(items), "resolution": int(items[0]["sketch"].shape[-1])}
    for kind, scores in per.items():
        report[kind] = {
            key: summarize(v for v in values if not np.isnan(v)) for key, values in scores.items()
        }
    report["items"] = per
    return report


def format_full_report(report: dict[str, Any]) -> str:
    rows = [f"{report['count']} pairs at {report['resolution']} px (medians)"]
    rows.append(f"{'picture':<10} {'PSNR':>7} {'SSIM':>7} {'sharpness':>10}")
    for kind in ("full", "bicubic", "baseline"):
        if kind in report:
            r = report[kind]
            rows.append(
                f"{kind:<10} {r['psnr']['median']:7.2f} {r['ssim']['median']:7.3f} "
                f"{r['sharpness']['median']:10.2f}"
            )
    if "full" in report and "bicubic" in report:
        gain = report["full"]["psnr"]["median"] - report["bicubic"]["psnr"]["median"]
        rows.append(f"full − bicubic: {gain:+.2f} dB")
    return "\n".join(rows)
