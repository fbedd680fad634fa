"""The training run's configuration: one typed, validated tree (the networks' configs, the
losses, augmentation and the loop's own settings), read from defaults, then a JSON config file,
then command-line flags, and saved resolved in the run folder.

Every field is settable as a flag, generated from the dataclasses so none can be forgotten:
top-level fields as `--lr-g`, generator fields as `--g-base-width`, discriminator fields as
`--d-branches`, loss fields as `--objective`/`--l1-weight`, augmentation as `--aug-flip`.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch

from models import (
    DiscriminatorConfig,
    GeneratorConfig,
    InvalidConfig,
    LossConfig,
    build_discriminator,
    build_generator,
)
from models.config import config_from_dict, config_to_dict
from models.validation import (
    NON_NEGATIVE_INT,
    POSITIVE_INT,
    FieldChecks,
    Limits,
    WrongType,
    field_error,
)
from sketchpad.data import AugmentConfig
from sketchpad.devices import DEVICE_CHOICES, PRECISION_CHOICES
from sketchpad.errors import ConfigError
from sketchpad.train.field_docs import field_docs


@dataclass(frozen=True)
class TrainConfig:
    CHOICES: ClassVar[dict[str, tuple[str, ...]]] = {
        "direction": ("AtoB", "BtoA"),
        "lr_schedule": ("constant", "linear"),
        "precision": PRECISION_CHOICES,
        "device": DEVICE_CHOICES,
    }
    LIMITS: ClassVar[dict[str, Limits]] = {
        "resolution": POSITIVE_INT,
        "steps": Limits(1, 10_000_000, integer=True),
        "batch": Limits(1, 1024, integer=True),
        "lr_g": Limits(0, 1, low_open=True, high_open=True),
        "lr_d": Limits(0, 1, low_open=True, high_open=True),
        "decay_fraction": Limits(0, 1, low_open=True),
        "ema": Limits(0, 1, high_open=True, why="0 turns EMA off"),
        "checkpoint_every": Limits(1, 1_000_000, integer=True),
        "keep_checkpoints": POSITIVE_INT,
        "log_every": POSITIVE_INT,
        "sample_every": Limits(1, 1_000_000, integer=True),
        "sample_count": POSITIVE_INT,
        "eval_every": NON_NEGATIVE_INT,
        "eval_limit": POSITIVE_INT,
    }

    data: str = "openmoji"
    """Data source: openmoji, aligned:PATH, paired:PATH, photos:PATH or PATH."""
    direction: str = "AtoB"
    """Aligned data: which half is the sketch."""
    resolution: int = 128
    """Side of the square pictures trained on, in pixels."""
    steps: int = 2000
    """Training steps in all (a resumed run counts from its start)."""
    batch: int = 8
    """Pictures per step, per process."""
    lr_g: float = 2e-4
    """The generator's learning rate (Adam)."""
    lr_d: float = 2e-4
    """The discriminator's learning rate (Adam)."""
    beta1: float = 0.5
    """Adam's first-moment decay."""
    beta2: float = 0.999
    """Adam's second-moment decay."""
    lr_schedule: str = "linear"
    """constant, or linear: constant, then down to 0 over decay_fraction."""
    decay_fraction: float = 0.5
    """The share of the run at its end over which a linear schedule decays."""
    ema: float = 0.999
    """EMA decay of the generator used for export; 0 turns EMA off."""
    precision: str = "auto"
    """Number format: auto picks bf16/fp16 where the hardware is fast at it."""
    device: str = "auto"
    """Where to train: auto picks CUDA, then MPS, then the CPU."""
    seed: int = 0
    """Seed of the weights, the data order and the augmentation."""
    deterministic: bool = False
    """Bit-for-bit repeatable training (slower)."""
    checkpoint_every: int = 500
    """Steps between checkpoints (and exported models)."""
    keep_checkpoints: int = 3
    """How many of the newest checkpoints to keep."""
    log_every: int = 10
    """Steps between step events (the first steps always report)."""
    sample_every: int = 250
    """Steps between sample grids."""
    sample_count: int = 6
    """Held-out pairs in each sample grid."""
    eval_every: int = 0
    """Steps between evaluations; 0: only at the end."""
    eval_limit: int = 64
    """Most held-out pairs an evaluation uses."""
    description: str = ""
    """A description stored in the exported model file."""
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)

    def __post_init__(self) -> None:
        check = FieldChecks(self, field_error(ConfigError))
        check.table(self.LIMITS, self.CHOICES)
        for name in ("generator", "discriminator"):
            network_resolution = getattr(self, name).resolution
            check.require(
                network_resolution == self.resolution,
                f"{name}.resolution",
                f"must equal resolution ({self.resolution}), got {network_resolution}",
            )
        sketch_channels = 2 if self.augment.distance_field else 1
        check.require(
            self.generator.in_channels == sketch_channels,
            "generator.in_channels",
            f"is {self.generator.in_channels} but the sketch has {sketch_channels} channel(s) "
            f"(augment.distance_field={self.augment.distance_field})",
        )
        expected_d = sketch_channels + self.generator.out_channels
        check.require(
            self.discriminator.in_channels == expected_d,
            "discriminator.in_channels",
            f"must be {expected_d} (sketch + image channels), got {self.discriminator.in_channels}",
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = config_to_dict(value) if dataclasses.is_dataclass(value) else value
        return out


NESTED = {
    "generator": (GeneratorConfig, "g-"),
    "discriminator": (DiscriminatorConfig, "d-"),
    "loss": (LossConfig, ""),
    "augment": (AugmentConfig, "aug-"),
}
# Fields the trainer derives itself (the flag for them would only invite contradictions).
DERIVED = {
    ("generator", "resolution"),
    ("discriminator", "resolution"),
    ("generator", "in_channels"),
    ("discriminator", "in_channels"),
}
FLAG_RENAMES = {("loss", "feature_matching_weight"): "fm-weight"}
COMMAND_FLAGS = ("resolution", "steps", "batch", "device", "data", "direction")
"""Top-level fields whose flags `sketchpad train` declares itself (`field_help` describes them)."""


def _base_type(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _base_type(args[0])
    return tp


def _parse_bool(text: str) -> bool:
    low = text.lower()
    if low in ("1", "true", "yes", "on"):
        return True
    if low in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {text!r}")


def _parse_int_tuple(text: str) -> tuple[int, ...]:
    text = text.strip()
    if text in ("", "none", "()"):
        return ()
    try:
        return tuple(int(t) for t in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers: {text!r}") from exc


def _converter(tp: Any):
    tp = _base_type(tp)
    if tp is bool:
        return _parse_bool
    if tp in (int, float, str):
        return tp
    if typing.get_origin(tp) is tuple:
        return _parse_int_tuple
    raise TypeError(f"no flag parser for {tp!r}")


def _hints(cls: type) -> dict[str, Any]:
    module = __import__(cls.__module__, fromlist=["_"])
    return typing.get_type_hints(cls, vars(module))


def field_help(cls: type, name: str) -> str:
    """A flag's help: the field's docstring, the values it takes and its default."""
    doc = field_docs(cls).get(name, "")
    allowed = allowed_values(cls.CHOICES, cls.LIMITS, name)  # type: ignore[attr-defined]
    default = next(f.default for f in dataclasses.fields(cls) if f.name == name)
    if isinstance(default, tuple):
        shown = ",".join(map(str, default)) or "none"
    elif isinstance(default, bool):
        shown = str(default).lower()
    else:
        shown = default if default != "" else '""'
    parts = [doc, f"({allowed})" if allowed else "", f"default: {shown}"]
    return " ".join(p for p in parts if p).replace("%", "%%")  # argparse formats help with %


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    """One flag per configuration field (default None: "not given"), described by the
    field's docstring."""
    group = parser.add_argument_group("configuration (every field; see --dry-run)")

    def add(flag: str, dest: str, hint: Any, help_text: str) -> None:
        group.add_argument(
            f"--{flag}",
            dest=f"cfg:{dest}",
            type=_converter(hint),
            default=None,
            metavar="V",
            help=help_text,
        )

    hints = _hints(TrainConfig)
    for f in dataclasses.fields(TrainConfig):
        if f.name not in NESTED and f.name not in COMMAND_FLAGS:
            add(f.name.replace("_", "-"), f.name, hints[f.name], field_help(TrainConfig, f.name))
    for nested, (cls, _) in NESTED.items():
        hints = _hints(cls)
        for f in dataclasses.fields(cls):
            if (nested, f.name) not in DERIVED:
                dotted = f"{nested}.{f.name}"
                add(flag_for(dotted)[2:], dotted, hints[f.name], field_help(cls, f.name))


def flag_for(dotted: str) -> str:
    """The flag of a dotted field ("--lr-g", "--g-base-width", "--fm-weight"); a field the
    trainer derives has none and is named as itself."""
    nested, _, name = dotted.rpartition(".")
    if not nested:
        return "--" + name.replace("_", "-")
    if nested not in NESTED or (nested, name) in DERIVED:
        return dotted
    prefix = NESTED[nested][1]
    return "--" + FLAG_RENAMES.get((nested, name), prefix + name.replace("_", "-"))


def allowed_values(
    choices: dict[str, tuple[str, ...]], limits: dict[str, Limits], name: str
) -> str | None:
    """The values field `name` accepts, in words, from its config's tables (None: not there)."""
    if name in choices:
        return f"one of {', '.join(choices[name])}"
    return limits[name].describe() if name in limits else None


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """{"lr_g": 1e-4, "generator.base_width": 32, ...} for the flags that were given."""
    out = {}
    for key, value in vars(args).items():
        if key.startswith("cfg:") and value is not None:
            out[key[4:]] = value
    for name in ("resolution", "steps", "batch", "device", "data", "direction"):
        value = getattr(args, name, None)
        if value is not None:
            out[name] = value
    return out


def _merge(base: dict[str, Any], dotted: dict[str, Any]) -> dict[str, Any]:
    out = json.loads(json.dumps(base))  # deep copy of plain data
    for key, value in dotted.items():
        target = out
        *parents, leaf = key.split(".")
        for i, p in enumerate(parents):
            target = target.setdefault(p, {})
            if not isinstance(target, dict):
                where = ".".join(parents[: i + 1])
                raise ConfigError(f"{where}: {WrongType('an object', target)}")
        target[leaf] = list(value) if isinstance(value, tuple) else value
    return out


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def build_config(file_values: dict[str, Any] | None, overrides: dict[str, Any]) -> TrainConfig:
    """defaults < config file < flags. Resolution and channel counts flow into the networks.
    Every value must have its field's type (a bool a JSON bool, an int an int, ...; see
    `models.config.config_from_dict`), and both networks must work at the resolution
    (`check_networks`); errors name the dotted field."""
    data = _merge(TrainConfig().to_dict(), {})
    if file_values:
        unknown = sorted(set(file_values) - set(data))
        if unknown:
            raise ConfigError(f"unknown configuration field(s): {', '.join(unknown)}")
        for key, value in file_values.items():
            if key in NESTED and isinstance(value, dict):
                data[key].update(value)
            else:
                data[key] = value  # a non-object for a nested field is named below
    data = _merge(data, overrides)
    # The derived fields follow only well-typed values: a wrong one is named as itself.
    res, g, d, aug = (data.get(k) for k in ("resolution", "generator", "discriminator", "augment"))
    distance = aug.get("distance_field") if isinstance(aug, dict) else False
    sketch_channels = 2 if distance is True else 1
    out_channels = g.get("out_channels", 3) if isinstance(g, dict) else 3
    for network in (g, d):
        if isinstance(network, dict) and _is_int(res):
            network["resolution"] = res
    if isinstance(g, dict):
        g["in_channels"] = sketch_channels
    if isinstance(d, dict) and _is_int(out_channels):
        d["in_channels"] = sketch_channels + out_channels
    try:
        config = config_from_dict(TrainConfig, data, where="")
    except InvalidConfig as exc:
        raise ConfigError(str(exc)) from exc
    check_networks(config)
    return config


def check_networks(config: TrainConfig) -> None:
    """Build both networks on the meta device (shapes only: no memory, no arithmetic) and run
    a training batch through them, so that a resolution or depth they cannot work with fails
    here, named, instead of at the first step of training."""
    features = config.loss.feature_matching_weight > 0
    _check_networks(config.generator, config.discriminator, config.batch, features)


@functools.lru_cache(maxsize=16)
def _check_networks(g: GeneratorConfig, d: DiscriminatorConfig, batch: int, features: bool) -> None:
    size = f"{g.resolution}×{g.resolution} pictures"
    with torch.device("meta"):
        try:
            sketch = torch.empty(batch, g.in_channels, g.resolution, g.resolution)
            fake = build_generator(g)(sketch)
        except (RuntimeError, ValueError) as exc:
            raise ConfigError(
                f"the generator ({g.arch}, depth {g.depth}) cannot work on {size} "
                f"({_first_line(exc)}); change --resolution or --g-depth"
            ) from exc
        try:
            build_discriminator(d)(sketch, fake, features=features)
        except (RuntimeError, ValueError) as exc:
            raise ConfigError(
                f"the discriminator ({d.arch}) cannot work on {size} with batch {batch} "
                f"({_first_line(exc)}); use a larger --resolution, or a shallower "
                "discriminator (--d-n-layers, --d-num-d, --d-branches)"
            ) from exc


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def load_config_file(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        values = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} does not exist") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid JSON: {exc}") from exc
    if not isinstance(values, dict):
        raise ConfigError(f"config file {path} must hold a JSON object")
    return values


LATER_SWITCHES = ("rescale", "wobble", "gaps")
"""Augmentations added after runs were saved without them: such a run resumes without them."""
LATER_SETTINGS = {"hint_background": 0.0}
"""Augmentation settings added later, with the value that leaves an older run's data as it was."""


def config_from_saved(data: dict[str, Any]) -> TrainConfig:
    aug = data.get("augment")
    if isinstance(aug, dict):
        later = {**dict.fromkeys(LATER_SWITCHES, False), **LATER_SETTINGS}
        data = {**data, "augment": {**later, **aug}}
    return build_config(data, {})
