"""What a run will train with, decided the same way for the run and for `--dry-run`: a new
run's configuration (fine-tuning keeps the model file's networks) in a folder fit for a new
run, or a resumed run's saved configuration with the changes the user gave."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sketchpad.checkpoint import LoadedModel, load_model
from sketchpad.errors import ConfigError
from sketchpad.train import state
from sketchpad.train.config import TrainConfig, check_networks
from sketchpad.train.resume import Changes, apply_changes
from sketchpad.train.run_folder import RunFolder, SavedState


def config_for_init(config: TrainConfig, model: LoadedModel) -> TrainConfig:
    """Fine-tuning keeps the model file's networks and resolution, and adds the inputs the
    run asks for that the model lacks (colour hints, noise: `models.grow`)."""
    g = model.generator_config
    wanted = config.generator
    g = replace(
        g,
        hint_channels=max(g.hint_channels, wanted.hint_channels),
        noise_channels=max(g.noise_channels, wanted.noise_channels) if g.arch == "mru" else 0,
    )
    if not model.generator_config.noise_channels and g.noise_channels:  # grown: as asked
        g = replace(g, noise_global=wanted.noise_global)
    d = model.discriminator_config
    if d is None:
        d = replace(config.discriminator, resolution=g.resolution)
    aug = config.augment
    if (g.in_channels == 2) != aug.distance_field:
        aug = replace(aug, distance_field=g.in_channels == 2)
    out = replace(config, resolution=g.resolution, generator=g, discriminator=d, augment=aug)
    check_networks(out)
    return out


@dataclass
class Plan:
    config: TrainConfig
    notes: list[tuple[str, str]] = field(default_factory=list)
    """(level, message) for the run's log: a damaged config.json, each changed field."""
    init_model: LoadedModel | None = None


def plan_run(
    config: TrainConfig | None,  # a new run's configuration (ignored with `resume`)
    run_dir: str | Path,
    *,
    init: str | Path | None = None,
    resume: bool = False,
    changes: Changes | Mapping[str, Any] | None = None,  # with `resume`: the fields given
    overwrite: bool = False,  # a new run in a folder that holds other files
    saved_state: SavedState | None = None,  # with `resume`: loads the newest good checkpoint
) -> Plan:
    """Reads only; raises what the run would raise before training."""
    folder = RunFolder(run_dir)
    if resume:
        if init is not None:
            raise ConfigError(
                "--init cannot be used with --resume: a resumed run continues from its own "
                "checkpoint (fine-tune into a new --out folder instead)"
            )
        if overwrite:
            raise ConfigError("--overwrite starts a new run; it cannot be used with --resume")
        if saved_state is None:

            def saved_state() -> tuple[dict[str, Any], Path]:
                loaded, path, _ = state.load_latest_state(folder.path)
                return loaded, path

        saved, warnings = folder.read_config(saved_state)
        config, changed = apply_changes(saved, changes)
        notes = [("warning", w) for w in warnings] + [("info", c) for c in changed]
        return Plan(config, notes)
    if config is None:
        raise ConfigError("a new run needs a configuration")
    folder.check_new(overwrite)
    if init is None:
        return Plan(config)
    model = load_model(init)
    return Plan(config_for_init(config, model), [], model)


def prepare_run(
    folder: RunFolder,
    config: TrainConfig | None,
    *,
    init: str | Path | None,
    resume: bool,
    changes: Changes | Mapping[str, Any] | None,
    overwrite: bool,
    main: bool,  # rank 0: the one process that locks the folder and writes in it
    log: Callable[[str, str], None],  # (level, message)
) -> tuple[Plan, dict[str, Any] | None]:
    """A run's start: lock the folder, clear what interrupted saves left, load the newest
    good checkpoint (resume) and plan; logs what it finds. Returns the plan and the state."""
    if resume:
        folder.check_resumable()
    if main:
        taken = folder.lock()
        if taken is not None:
            log(
                "warning",
                f"took over the run folder's lock from {taken.describe()}, which ended "
                "without letting it go",
            )
        for name in folder.remove_temp_files():
            log("info", f"removed {name}, left by an interrupted save")
    resume_state: dict[str, Any] | None = None
    saved_state = None
    if resume:
        resume_state, path, problems = state.load_latest_state(folder.path)
        for problem in problems:
            log("warning", f"skipped a damaged checkpoint: {problem}")
        log("info", f"resuming from {path.name} (step {resume_state['step']})")

        def saved_state() -> tuple[dict[str, Any], Path]:
            return resume_state, path

    plan = plan_run(
        config,
        folder.path,
        init=init,
        resume=resume,
        changes=changes,
        overwrite=overwrite,
        saved_state=saved_state,
    )
    for level, message in plan.notes:
        log(level, message)
    return plan, resume_state
