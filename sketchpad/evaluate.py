"""Evaluation on a split: L1, PSNR and SSIM of the generator's outputs against the targets,
and the same numbers for the identity baseline (output = the line drawing itself)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn

from sketchpad import metrics
from sketchpad.devices import Precision, flush_denormals
from sketchpad.sketch import sketch_tensor_to_rgb, tensor_to_rgb


def identity_images(sketch: torch.Tensor) -> torch.Tensor:
    """The line drawing as an RGB picture in [0, 1]: black ink on white paper, (B, 3, H, W)."""
    ink = sketch[:, :1].float()
    return (1 - ink).expand(-1, 3, -1, -1)


@torch.inference_mode()
def generate_batch(
    generator: nn.Module, sketch: torch.Tensor, precision: Precision, seed: int = 0
) -> torch.Tensor:
    """Generator outputs in [-1, 1] float32 on the CPU. Noise (if any) is drawn from `seed`."""
    flush_denormals()
    device = precision.device
    x = sketch.to(device)
    noise = None
    config = getattr(generator, "config", None)
    if config is not None and config.noise_channels:
        g = torch.Generator().manual_seed(seed)
        noise = torch.randn(generator.noise_shape(x.shape[0]), generator=g).to(device)
    if precision.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with precision.autocast():
        out = generator(x, noise)
    return out.float().cpu()


def _scores(pred01: torch.Tensor, target01: torch.Tensor) -> dict[str, list[float]]:
    return {
        "l1": metrics.l1(pred01, target01).tolist(),
        "psnr": metrics.psnr(pred01, target01).tolist(),
        "ssim": metrics.ssim(pred01, target01).tolist(),
    }


def evaluate(
    generator: nn.Module,
    dataset: Sequence[dict[str, Any]],
    precision: Precision,
    *,
    limit: int | None = None,
    batch: int = 16,
) -> dict[str, Any]:
    """{"count", "metrics": {l1, psnr, ssim: {mean, median}}, "identity": {...}, "per_item"}."""
    was_training = generator.training
    generator.eval()
    n = len(dataset) if limit is None else min(limit, len(dataset))
    model_scores: dict[str, list[float]] = {"l1": [], "psnr": [], "ssim": []}
    ident_scores: dict[str, list[float]] = {"l1": [], "psnr": [], "ssim": []}
    names: list[str] = []
    for start in range(0, n, batch):
        items = [dataset[i] for i in range(start, min(n, start + batch))]
        sketch = torch.stack([it["sketch"] for it in items])
        target = metrics.to_unit(torch.stack([it["image"] for it in items]))
        out = metrics.to_unit(generate_batch(generator, sketch, precision))
        for key, vals in _scores(out, target).items():
            model_scores[key].extend(vals)
        for key, vals in _scores(identity_images(sketch), target).items():
            ident_scores[key].extend(vals)
        names.extend(str(it.get("name", "")) for it in items)
    generator.train(was_training)
    return {
        "count": n,
        "metrics": {k: metrics.summarize(v) for k, v in model_scores.items()},
        "identity": {k: metrics.summarize(v) for k, v in ident_scores.items()},
        "per_item": [
            {"name": name, **{k: model_scores[k][i] for k in model_scores}}
            for i, name in enumerate(names)
        ],
    }


def sample_grid(
    generator: nn.Module, items: Sequence[dict[str, Any]], precision: Precision
) -> Image.Image:
    """Rows of (sketch | output | target) for the given pairs."""
    was_training = generator.training
    generator.eval()
    sketch = torch.stack([it["sketch"] for it in items])
    out = generate_batch(generator, sketch, precision)
    generator.train(was_training)
    rows = []
    for i, it in enumerate(items):
        rows.append(
            np.concatenate(
                [
                    sketch_tensor_to_rgb(it["sketch"][:1]),
                    tensor_to_rgb(out[i]),
                    tensor_to_rgb(it["image"]),
                ],
                axis=1,
            )
        )
    return Image.fromarray(np.concatenate(rows, axis=0))


def format_report(report: dict[str, Any]) -> str:
    lines = [f"{report['count']} pairs", f"{'':10}{'median':>10}{'mean':>10}   identity median"]
    for key, label in (("psnr", "PSNR dB"), ("ssim", "SSIM"), ("l1", "L1")):
        m, i = report["metrics"][key], report["identity"][key]
        lines.append(f"{label:10}{m['median']:10.4f}{m['mean']:10.4f}   {i['median']:10.4f}")
    return "\n".join(lines)
