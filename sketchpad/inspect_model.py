"""A summary of a model file: what `sketchpad inspect` prints (and the app's About box shows)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from models import receptive_fields
from sketchpad.checkpoint import load_model


def _count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def describe_model(path: str | Path) -> dict[str, Any]:
    model = load_model(path)
    g_cfg = model.generator_config
    res = g_cfg.resolution
    info: dict[str, Any] = {
        "path": str(path),
        "name": model.name,
        "resolution": res,
        "output_resolution": g_cfg.output_resolution,
        "inputs": list(model.inputs),
        "step": model.metadata.get("step"),
        "description": model.metadata.get("description", ""),
        "generator": {
            "arch": g_cfg.arch,
            "parameters": _count(model.generator),
            "attention": [
                {
                    "level": lvl,
                    "features": f"{res // 2**lvl}×{res // 2**lvl}",
                    "channels": g_cfg.width(lvl),
                }
                for lvl in g_cfg.attention_levels
            ],
            "noise_channels": g_cfg.noise_channels,
            "noise_global": g_cfg.noise_global,
            "hint_channels": g_cfg.hint_channels,
            "highres": [
                {"resolution": res * 2 ** (i + 1), "channels": w}
                for i, w in enumerate(g_cfg.highres_widths)
            ],
            "highres_parameters": _count(model.generator.highres)
            if getattr(model.generator, "highres", None) is not None
            else 0,
        },
        "discriminator": None,
    }
    d = model.discriminator
    if d is not None:
        names = d.branch_names(res)
        branches = []
        for name, field in zip(names, receptive_fields(d, res), strict=True):
            branches.append(
                {
                    "label": name,
                    "output": list(field.output_size),
                    "receptive_field": field.size,
                    "jump": field.jump,
                    "global": field.is_global,
                }
            )
        info["discriminator"] = {
            "arch": model.discriminator_config.arch,
            "parameters": _count(d),
            "branches": branches,
        }
    return info


INPUT_WORDS = {"ink": "ink", "hints": "hint colour + mask", "noise": "noise"}
"""How `sketchpad inspect` names a model's inputs."""


def format_inputs(inputs: list[str]) -> str:
    """E.g. "ink; hint colour + mask; noise" (an older model: "ink")."""
    return "; ".join(INPUT_WORDS.get(name, name) for name in inputs)


def format_description(info: dict[str, Any]) -> str:
    g = info["generator"]
    lines = [
        f"{info['name']}  ({info['path']})",
        f"  resolution {info['resolution']}×{info['resolution']}, step {info['step']}",
        f"  inputs: {format_inputs(info['inputs'])}",
        f"  generator: {g['arch']}, {g['parameters']:,} parameters",
    ]
    if g["attention"]:
        where = ", ".join(
            f"level {a['level']} ({a['features']}, {a['channels']} ch)" for a in g["attention"]
        )
        lines.append(f"    conditional self-attention at {where}")
    else:
        lines.append("    no attention")
    if g.get("highres"):
        levels = ", ".join(f"{h['resolution']} px ({h['channels']} ch)" for h in g["highres"])
        lines.append(
            f"    high-resolution levels: {levels}, {g['highres_parameters']:,} parameters; "
            f"the full picture is {info['output_resolution']} px, the live preview "
            f"{info['resolution']} px"
        )
    if g["hint_channels"]:
        lines.append(
            f"    colour-hint input: {g['hint_channels']} channels (colour + mask) at every scale"
        )
    if "noise" in info["inputs"]:
        spread = "one vector per picture" if g["noise_global"] else "per bottleneck cell"
        lines.append(f"    noise input: {g['noise_channels']} channels, {spread} (variations)")
    d = info["discriminator"]
    if d is None:
        lines.append("  discriminator: none (the verdict overlay is unavailable)")
    else:
        lines.append(f"  discriminator: {d['arch']}, {d['parameters']:,} parameters")
        for b in d["branches"]:
            h, w = b["output"]
            scope = "whole image" if b["global"] else f"{b['receptive_field']} px"
            lines.append(
                f"    {b['label']}: {h}×{w} map, receptive field "
                f"{b['receptive_field']} px ({scope}), stride {b['jump']}"
            )
    if info["description"]:
        lines.append(f"  {info['description']}")
    return "\n".join(lines)
