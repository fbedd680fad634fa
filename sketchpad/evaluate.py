"""Evaluation on a split: L1, PSNR and SSIM of the generator's outputs against the targets,
and the same numbers for the identity baseline (output = the line drawing itself).

Variants of the split, each deterministic per item index: with N colour hints sampled from
each target (`sketchpad.data.hints.sample_hints`, N dabs, keyed by seed and index), and drawn
as people draw (`sketchpad.data.augment.perturb_pair`: smaller, off-centre, wobbly, thicker).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn

from sketchpad import metrics
from sketchpad.data.augment import pair_generator, perturb_pair
from sketchpad.data.hints import hint_generator, hint_input, sample_hints
from sketchpad.data.preview import sketch_with_hints
from sketchpad.devices import Precision, flush_denormals
from sketchpad.framing import fit, paste_each
from sketchpad.sketch import tensor_to_rgb


def identity_images(sketch: torch.Tensor) -> torch.Tensor:
    """The line drawing as an RGB picture in [0, 1]: black ink on white paper, (B, 3, H, W)."""
    ink = sketch[:, :1].float()
    return (1 - ink).expand(-1, 3, -1, -1)


def draw_noise(generator: nn.Module, batch: int, rng: torch.Generator) -> torch.Tensor | None:
    """Noise for `batch` pictures of a generator that takes it, drawn on the CPU from `rng`
    (None for one that takes none)."""
    config = getattr(generator, "config", None)
    if config is None or not config.noise_channels:
        return None
    return torch.randn(generator.noise_shape(batch), generator=rng)


@torch.inference_mode()
def generate_batch(
    generator: nn.Module,
    sketch: torch.Tensor,
    precision: Precision,
    seed: int = 0,
    hints: torch.Tensor | None = None,
) -> torch.Tensor:
    """Generator outputs in [-1, 1] float32 on the CPU. Noise (if any) is drawn from `seed`;
    `hints` (B, 4, R, R) reach a generator with hint inputs (None: no hint)."""
    flush_denormals()
    device = precision.device
    x = sketch.to(device)
    noise = draw_noise(generator, x.shape[0], torch.Generator().manual_seed(seed))
    if noise is not None:
        noise = noise.to(device)
    config = getattr(generator, "config", None)
    if precision.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with precision.autocast():
        if hints is not None and getattr(config, "hint_channels", 0):
            out = generator(x, noise, hints.to(device))
        else:
            out = generator(x, noise)
    return out.float().cpu()


def generate_framed(
    generator: nn.Module,
    sketch: torch.Tensor,
    precision: Precision,
    seed: int = 0,
    hints: torch.Tensor | None = None,
) -> torch.Tensor:
    """`generate_batch` with each drawing fitted to the model's frame first
    (`sketchpad.framing`) and its picture put back where it was drawn, as the app does."""
    fitted = [fit(s, None if hints is None else hints[i]) for i, s in enumerate(sketch)]
    frames = [f[0] for f in fitted]
    x = torch.stack([f[1] for f in fitted])
    h = None if hints is None else torch.stack([f[2] for f in fitted])
    out = generate_batch(generator, x, precision, seed, h)
    return paste_each(out, frames)


def prepare_item(
    item: dict[str, Any], index: int, *, hints: int = 0, perturb: bool = False, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """(sketch, target, hints or None) of one evaluation item: drawn as people draw when
    `perturb` (`perturb_pair`, from `pair_generator(seed, 0, index)`), then with `hints` dabs
    sampled from the target (`hint_generator(seed, 0, index)`), so one index always gets the
    same pair and the same dabs (and N dabs are the first N of any larger count)."""
    sketch, image = item["sketch"], item["image"]
    if perturb:
        sketch, image = perturb_pair(sketch, image, pair_generator(seed, 0, index))
    if not hints:
        return sketch, image, None
    colour, mask = sample_hints(image, hint_generator(seed, 0, index), count=hints)
    return sketch, image, hint_input(colour, mask)


def _scores(pred01: torch.Tensor, target01: torch.Tensor) -> dict[str, list[float]]:
    return {
        "l1": metrics.l1(pred01, target01).tolist(),
        "psnr": metrics.psnr(pred01, target01).tolist(),
        "ssim": metrics.ssim(pred01, target01).tolist(),
    }


def _delta_e(pred01: torch.Tensor, target01: torch.Tensor) -> list[float | None]:
    return [metrics.main_colour_delta_e(p, t) for p, t in zip(pred01, target01, strict=True)]


def evaluate(
    generator: nn.Module,
    dataset: Sequence[dict[str, Any]],
    precision: Precision,
    *,
    limit: int | None = None,
    batch: int = 16,
    hints: int = 0,
    perturb: bool = False,
    seed: int = 0,
    frame: bool = False,
) -> dict[str, Any]:
    """{"count", "metrics": {l1, psnr, ssim: {mean, median}}, "identity": {...}, "colour":
    {share, count, median_delta_e} (`metrics.colour_fidelity`), "per_item"}. `hints` dabs per
    item and `perturb`: see `prepare_item`; `frame`: each drawing fitted to the model's frame
    (`generate_framed`)."""
    was_training = generator.training
    generator.eval()
    n = len(dataset) if limit is None else min(limit, len(dataset))
    model_scores: dict[str, list[float]] = {"l1": [], "psnr": [], "ssim": []}
    ident_scores: dict[str, list[float]] = {"l1": [], "psnr": [], "ssim": []}
    delta_e: list[float | None] = []
    names: list[str] = []
    for start in range(0, n, batch):
        items = [dataset[i] for i in range(start, min(n, start + batch))]
        prepared = [
            prepare_item(it, start + j, hints=hints, perturb=perturb, seed=seed)
            for j, it in enumerate(items)
        ]
        sketch = torch.stack([p[0] for p in prepared])
        target = metrics.to_unit(torch.stack([p[1] for p in prepared]))
        hint_batch = torch.stack([p[2] for p in prepared]) if hints else None
        run = generate_framed if frame else generate_batch
        out = metrics.to_unit(run(generator, sketch, precision, seed, hints=hint_batch))
        for key, vals in _scores(out, target).items():
            model_scores[key].extend(vals)
        delta_e.extend(_delta_e(out, target))
        for key, vals in _scores(identity_images(sketch), target).items():
            ident_scores[key].extend(vals)
        names.extend(str(it.get("name", "")) for it in items)
    generator.train(was_training)
    return {
        "count": n,
        "metrics": {k: metrics.summarize(v) for k, v in model_scores.items()},
        "identity": {k: metrics.summarize(v) for k, v in ident_scores.items()},
        "colour": metrics.colour_fidelity(delta_e),
        "per_item": [
            {"name": name, **{k: model_scores[k][i] for k in model_scores}, "delta_e": delta_e[i]}
            for i, name in enumerate(names)
        ],
    }


def sample_grid(
    generator: nn.Module, items: Sequence[dict[str, Any]], precision: Precision
) -> Image.Image:
    """Rows of (sketch | output | target) for the given pairs; items with "hints" are
    generated with them, their dabs painted over the sketch."""
    was_training = generator.training
    generator.eval()
    sketch = torch.stack([it["sketch"] for it in items])
    with_hints = all("hints" in it for it in items)
    hints = torch.stack([it["hints"] for it in items]) if with_hints else None
    out = generate_batch(generator, sketch, precision, hints=hints)
    generator.train(was_training)
    rows = []
    for i, it in enumerate(items):
        rows.append(
            np.concatenate(
                [
                    sketch_with_hints(it["sketch"][:1], it["hints"] if with_hints else None),
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
    if "colour" in report:
        lines.append(format_colour(report["colour"]))
    return "\n".join(lines)


def format_colour(colour: dict[str, Any]) -> str:
    """One line: the share of pictures whose main colour is within ΔE 20 of the target's."""
    if not colour["count"]:
        return "main colour: no target in the split has one"
    return (
        f"main colour within ΔE {metrics.COLOUR_DELTA_E:g} of the target's: "
        f"{colour['share']:.0%} of {colour['count']} (median ΔE {colour['median_delta_e']:.1f})"
    )
