"""What `sketchpad eval` adds to the plain report: the metrics with N colour hints beside those
without, the split drawn as people draw against the clean one (each as its gain over the
identity baseline), and how different the variations from several noise seeds are."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from sketchpad import metrics
from sketchpad.devices import Precision
from sketchpad.evaluate import generate_batch, prepare_item
from sketchpad.variation_metrics import DiversityTally

DIVERSITY_SEEDS = 4
"""Variations per sketch for the diversity measure."""
LABELS = (("psnr", "PSNR dB"), ("ssim", "SSIM"), ("l1", "L1"))


def gains(report: dict[str, Any]) -> dict[str, float]:
    """The model's median over the identity baseline's, per metric, signed so that more is
    better: PSNR and SSIM model − identity, L1 identity − model."""
    m, i = report["metrics"], report["identity"]
    return {
        "psnr": m["psnr"]["median"] - i["psnr"]["median"],
        "ssim": m["ssim"]["median"] - i["ssim"]["median"],
        "l1": i["l1"]["median"] - m["l1"]["median"],
    }


def hint_row(count: int, report: dict[str, Any]) -> dict[str, Any]:
    """One row of the hints table: the report of the split with `count` hints per pair,
    without its per-item scores, with its gains."""
    return {
        "count": count,
        "metrics": report["metrics"],
        "identity": report["identity"],
        "gain": gains(report),
        "colour": report["colour"],
    }


def perturbed_summary(clean: dict[str, Any], perturbed: dict[str, Any]) -> dict[str, Any]:
    """Both gains and the ratio perturbed / clean of the PSNR gain (None when the clean gain
    is not positive: there is nothing to keep)."""
    clean_gain, perturbed_gain = gains(clean), gains(perturbed)
    ratio = perturbed_gain["psnr"] / clean_gain["psnr"] if clean_gain["psnr"] > 0 else None
    return {
        "count": perturbed["count"],
        "metrics": perturbed["metrics"],
        "identity": perturbed["identity"],
        "gain": perturbed_gain,
        "clean_gain": clean_gain,
        "ratio": ratio,
    }


@torch.inference_mode()
def measure_diversity(
    generator: nn.Module,
    dataset: Sequence[dict[str, Any]],
    precision: Precision,
    *,
    hints: int = 0,
    limit: int | None = None,
    seed: int = 0,
    seeds: int = DIVERSITY_SEEDS,
    batch: int = 16,
) -> dict[str, Any]:
    """The mean pairwise absolute difference (in [0, 1]) between the pictures from `seeds`
    noise seeds (seed, seed + 1, ...), on the hinted pixels and on the others, over the split
    with `hints` dabs per item (`prepare_item`)."""
    was_training = generator.training
    generator.eval()
    n = len(dataset) if limit is None else min(limit, len(dataset))
    tally = DiversityTally()
    for start in range(0, n, batch):
        prepared = [
            prepare_item(dataset[i], i, hints=hints, seed=seed)
            for i in range(start, min(n, start + batch))
        ]
        sketch = torch.stack([p[0] for p in prepared])
        hint_batch = torch.stack([p[2] for p in prepared]) if hints else None
        outs = torch.stack(
            [
                metrics.to_unit(generate_batch(generator, sketch, precision, seed + k, hint_batch))
                for k in range(seeds)
            ]
        )  # (seeds, B, 3, R, R)
        for b, p in enumerate(prepared):
            mask = p[2][3] if p[2] is not None else torch.zeros(sketch.shape[-2:])
            tally.add(outs[:, b], mask)
    generator.train(was_training)
    return {"hints": hints, "seeds": seeds, **tally.report()}


def _number(value: float | None, width: int = 10) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return f"{'n/a':>{width}}"
    return f"{value:{width}.4f}"


def format_hint_rows(rows: list[dict[str, Any]]) -> str:
    """One row per hint count: the medians and the PSNR gain over the identity baseline."""
    lines = [
        f"{'hints':>8}{'PSNR dB':>10}{'SSIM':>10}{'L1':>10}{'PSNR gain':>12}{'colour':>9}"
        "   (medians; colour: main colour within ΔE 20)"
    ]
    for row in rows:
        m = row["metrics"]
        label = "none" if row["count"] == 0 else str(row["count"])
        lines.append(
            f"{label:>8}"
            + "".join(_number(m[key]["median"]) for key, _ in LABELS)
            + _number(gains(row)["psnr"], 12)
            + f"{row['colour']['share']:>9.0%}"
        )
    return "\n".join(lines)


def format_perturbed(summary: dict[str, Any]) -> str:
    """The clean and the perturbed split's gains over the identity baseline, and their ratio."""
    lines = [
        f"drawn as people draw ({summary['count']} pairs: smaller, off-centre, wobbly, thicker)",
        f"{'gain over identity':20}{'PSNR dB':>10}{'SSIM':>10}{'L1':>10}",
    ]
    for label, g in (("clean", summary["clean_gain"]), ("perturbed", summary["gain"])):
        lines.append(f"{label:20}" + "".join(_number(g[key]) for key, _ in LABELS))
    ratio = summary["ratio"]
    lines.append(
        f"perturbed / clean PSNR gain: {ratio:.3f}"
        if ratio is not None
        else "perturbed / clean PSNR gain: n/a (the model does not beat the identity baseline "
        "on the clean split)"
    )
    return "\n".join(lines)


def format_diversity(rows: list[dict[str, Any]]) -> str:
    """Per hint count: the variations' mean pairwise difference on hinted and unhinted pixels."""
    seeds = rows[0]["seeds"] if rows else DIVERSITY_SEEDS
    lines = [
        f"variations ({seeds} seeds): mean pairwise |difference| in [0, 1]",
        f"{'hints':>8}{'hinted':>10}{'unhinted':>10}",
    ]
    for row in rows:
        label = "none" if row["hints"] == 0 else str(row["hints"])
        lines.append(f"{label:>8}{_number(row['hinted'])}{_number(row['unhinted'])}")
    return "\n".join(lines)
