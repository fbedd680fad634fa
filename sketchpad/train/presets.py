"""Named run lengths the Train tab offers: how many steps, and how often a run shows a sample
and saves. "Quick" shows its first sample within a minute on a laptop CPU (fine-tuning the
128 px default model: about 0.75 s a step, so 25 steps ≈ 20 s after the data and networks are
ready); "Full" is the trainer's own defaults."""

from __future__ import annotations

from dataclasses import dataclass

from sketchpad.train.config import TrainConfig


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    steps: int
    sample_every: int
    checkpoint_every: int
    description: str


_DEFAULTS = TrainConfig()
PRESETS: tuple[Preset, ...] = (
    Preset(
        "quick",
        "Quick fine-tune",
        steps=300,
        sample_every=25,
        checkpoint_every=100,
        description="A first sample within a minute or so; a few minutes in all on a CPU.",
    ),
    Preset(
        "full",
        "Full run",
        steps=_DEFAULTS.steps,
        sample_every=_DEFAULTS.sample_every,
        checkpoint_every=_DEFAULTS.checkpoint_every,
        description="The trainer's defaults: better results, an hour or more on a CPU.",
    ),
)


def preset(key: str) -> Preset:
    for p in PRESETS:
        if p.key == key:
            return p
    raise KeyError(key)


def matching(steps: int, sample_every: int, checkpoint_every: int) -> Preset | None:
    """The preset these settings are, if any ("Custom" otherwise)."""
    for p in PRESETS:
        if (p.steps, p.sample_every, p.checkpoint_every) == (steps, sample_every, checkpoint_every):
            return p
    return None
