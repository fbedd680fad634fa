"""What a resumed run may change: the fields the user gives again (flags, or a `--config`
file) are compared with the run's saved configuration. Those that only steer the rest of the
run (its length, learning rates, loss weights, cadences, ...) take the new value, each change
reported ("lr_g: 0.0002 -> 1e-05") and recorded in config.json; those the run's networks, data
or data order are built from are refused, naming the flag. A field given with the value the
run already has is no change, and a field not given keeps the run's value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sketchpad.errors import ConfigError
from sketchpad.train.config import NESTED, TrainConfig, build_config, flag_for

CHANGEABLE = frozenset(
    {
        "steps",  # the schedule follows the new total
        "lr_g",
        "lr_d",
        "beta1",
        "beta2",
        "lr_schedule",
        "decay_fraction",
        "ema",  # turned on mid-run, the EMA starts from the generator's weights
        "precision",
        "device",
        "deterministic",
        "checkpoint_every",
        "keep_checkpoints",
        "log_every",
        "sample_every",
        "sample_count",
        "eval_every",
        "eval_limit",
        "description",
        "loss.l1_weight",
        "loss.feature_matching_weight",
        "loss.gp_weight",
        "loss.mode_seeking_weight",
        "loss.mode_seeking_cap",
        "loss.mode_seeking_pool",
        "loss.noise_choices",
    }
)
"""Dotted fields a resumed run may change. Every other one is fixed for the run's life: the
data, direction, resolution, batch and seed (the data order is a function of them), the
networks, the objective and the augmentation (it changes the data stream)."""


def flatten(values: Mapping[str, Any]) -> dict[str, Any]:
    """{"lr_g": 1e-4, "generator": {"depth": 4}} -> {"lr_g": 1e-4, "generator.depth": 4}."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key in NESTED and isinstance(value, Mapping):
            out.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            out[key] = value
    return out


@dataclass(frozen=True)
class Changes:
    """The fields given for a resumed run (dotted name -> value) and where each came from,
    for messages ("--lr-g", "lr_g in recipe.json"; a flag by default)."""

    values: Mapping[str, Any] = field(default_factory=dict)
    sources: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def given(
        cls,
        flags: Mapping[str, Any],
        file_values: Mapping[str, Any] | None = None,
        file_name: str = "",
    ) -> Changes:
        """Flags override the config file's values."""
        from_file = flatten(file_values or {})
        sources = {key: f"{key} in {file_name or 'the config file'}" for key in from_file}
        sources.update({key: flag_for(key) for key in flags})
        return cls({**from_file, **flags}, sources)

    def source(self, key: str) -> str:
        return self.sources.get(key) or flag_for(key)


def apply_changes(
    saved: TrainConfig, changes: Changes | Mapping[str, Any] | None
) -> tuple[TrainConfig, list[str]]:
    """The configuration a resumed run continues with, and one message per changed field.
    Raises `ConfigError` naming every given field that would change and may not."""
    if not isinstance(changes, Changes):
        changes = Changes(dict(changes or {}))
    if not changes.values:
        return saved, []
    config = build_config(saved.to_dict(), dict(changes.values))
    before, after = flatten(saved.to_dict()), flatten(config.to_dict())
    notes, refused = [], []
    for key in changes.values:
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        change = f"{json.dumps(old)} -> {json.dumps(new)}"
        if key in CHANGEABLE:
            notes.append(f"{key}: {change}")
        else:
            refused.append(f"{changes.source(key)} ({change})")
    if refused:
        raise ConfigError(
            f"a resumed run cannot change {', '.join(refused)}: the run's networks, data and "
            "data order are built from it. Resume without it, or start a new run (another "
            "--out) to change it"
        )
    return config, notes
