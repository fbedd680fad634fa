"""Training the high-resolution levels above a trained trunk (`sketchpad train-highres`).

The trunk stays frozen, so its features for each training picture are computed once, at the
start, and kept in memory (fp16). Each step then trains the levels on random crops of the
full-resolution pairs (`crop` pixels at the output resolution, the matching part of the
trunk's features): L1 to the target, and a light PatchGAN at that scale (hinge), which sees
the sketch crop beside the picture. A CPU trains them in minutes.

The run folder holds `checkpoints/step_*.pt` (levels, discriminator, optimizers, RNG; read
with `torch.load(weights_only=True)`), the lock, and `model.safetensors`: the trunk's model
file with the levels added. `resume` continues from the newest checkpoint.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from models import (
    DiscriminatorConfig,
    GeneratorConfig,
    HighResLevels,
    build_discriminator,
    build_generator,
    d_loss_fake,
    d_loss_real,
    g_loss,
)
from sketchpad.checkpoint import LoadedModel, load_model, save_model, stored_dtype
from sketchpad.errors import ConfigError, TrainingError
from sketchpad.locks import ProcessLock
from sketchpad.train.run_files import LOCK_FILE, MODEL_NAME, list_checkpoints
from sketchpad.train.state import load_latest_state, rng_state, save_state, set_rng_state

Events = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class HighResConfig:
    """The levels' training run (the CLI's flags, one for one)."""

    widths: tuple[int, ...] = (8, 4)  # channels of each ×2 level above the trunk
    steps: int = 3000  # optimizer steps in all (resuming continues to this count)
    batch: int = 8  # crops per step
    crop: int = 128  # crop side at the output resolution
    lr: float = 2e-4  # Adam, both networks
    l1_weight: float = 100.0  # weight of L1 against the adversarial term (weight 1)
    adversarial: bool = True  # the light PatchGAN at the output scale
    limit: int = 0  # use at most this many training pictures (0: all)
    seed: int = 0
    checkpoint_every: int = 250
    log_every: int = 25

    def __post_init__(self) -> None:
        if not self.widths or not all(1 <= w <= 64 for w in self.widths):
            raise ConfigError(f"widths must be 1 to 3 numbers from 1 to 64, got {self.widths}")
        if len(self.widths) > 3:
            raise ConfigError(f"at most 3 levels (×8), got {len(self.widths)}")
        for name, low in (("steps", 1), ("batch", 1), ("checkpoint_every", 1), ("log_every", 1)):
            if getattr(self, name) < low:
                raise ConfigError(f"{name} must be at least {low}, got {getattr(self, name)}")
        if self.crop < 16 or self.crop % 2 ** len(self.widths):
            raise ConfigError(
                f"crop must be at least 16 and a multiple of {2 ** len(self.widths)}, "
                f"got {self.crop}"
            )
        if not 0 < self.lr < 1:
            raise ConfigError(f"lr must be between 0 and 1, got {self.lr}")


def patch_discriminator(condition_channels: int) -> nn.Module:
    """The light PatchGAN at the output scale: 2 stride-2 layers (receptive field 34 px),
    16 channels first, spectral norm instead of BatchNorm (small batches of crops)."""
    config = DiscriminatorConfig(
        arch="patch",
        in_channels=condition_channels + 3,
        ndf=16,
        n_layers=2,
        norm="none",
        spectral=True,
        resolution=128,
    )
    return build_discriminator(config)


class TrunkCache:
    """Every training picture's full-resolution sketch and target (uint8) and the frozen
    trunk's features and picture (fp16), computed once."""

    def __init__(
        self,
        model: LoadedModel,
        pairs: list[tuple[torch.Tensor, torch.Tensor]],
        hints: list[torch.Tensor | None],
        on_progress: Callable[[int, int], None],
    ) -> None:
        g = model.generator
        r = model.resolution
        self.sketches, self.targets, self.hints, self.features, self.images = [], [], [], [], []
        with torch.inference_mode():
            for i, ((sketch, image), hint) in enumerate(zip(pairs, hints, strict=True)):
                small = F.adaptive_avg_pool2d(sketch[None], (r, r))  # as the app's BOX resize
                small_hints = None
                if hint is not None:
                    small_hints = F.adaptive_avg_pool2d(hint[None], (r, r))
                trunk = g.trunk(small, hints=small_hints)
                self.features.append(trunk.features[0].half())
                self.images.append(trunk.image[0].half())
                self.sketches.append((sketch * 255).round().to(torch.uint8))
                self.targets.append(((image + 1) * 127.5).round().to(torch.uint8))
                self.hints.append(hint.half() if hint is not None else None)
                on_progress(i + 1, len(pairs))

    def __len__(self) -> int:
        return len(self.sketches)

    def batch(self, indices: list[int], crop: int, scale: int, gen: torch.Generator):
        """Crops at matching places: (features, trunk picture, condition, target)."""
        small = crop // scale
        feats, images, conds, targets = [], [], [], []
        for i in indices:
            side = self.features[i].shape[-1]
            y = int(torch.randint(0, side - small + 1, (1,), generator=gen))
            x = int(torch.randint(0, side - small + 1, (1,), generator=gen))
            feats.append(self.features[i][:, y : y + small, x : x + small].float())
            images.append(self.images[i][:, y : y + small, x : x + small].float())
            big = (
                slice(None),
                slice(y * scale, (y + small) * scale),
                slice(x * scale, (x + small) * scale),
            )
            cond = [self.sketches[i][big].float() / 255.0]
            if self.hints[i] is not None:
                cond.append(self.hints[i][big].float())
            conds.append(torch.cat(cond))
            targets.append(self.targets[i][big].float() / 127.5 - 1.0)
        return (torch.stack(feats), torch.stack(images), torch.stack(conds), torch.stack(targets))


def with_levels(model: LoadedModel, widths: tuple[int, ...]) -> tuple[nn.Module, GeneratorConfig]:
    """The model's generator with high-resolution levels of `widths` (new ones, or its own
    when it has them already), the trunk's weights kept."""
    base = model.generator_config
    if base.arch != "mru":
        raise ConfigError("high-resolution levels go above an MRU generator, not a U-Net")
    config = GeneratorConfig(**{**base.__dict__, "highres_widths": tuple(widths)})
    generator = build_generator(config)
    state = model.generator.state_dict()
    if base.highres_widths != config.highres_widths:
        state = {k: v for k, v in state.items() if not k.startswith("highres.")}
    missing, unexpected = generator.load_state_dict(state, strict=False)
    assert not unexpected and all(k.startswith("highres.") for k in missing), missing
    return generator, config


def train_highres(
    model_path: Path,
    out: Path,
    pairs_fn: Callable[[int], tuple[list[tuple[torch.Tensor, torch.Tensor]], list]],
    config: HighResConfig,
    *,
    resume: bool = False,
    should_stop: Callable[[], bool] = lambda: False,
    on_event: Events = lambda e: None,
) -> Path:
    """Train the levels; returns the model file written in `out`. `pairs_fn(resolution)`
    gives the training pairs at the output resolution ((1, R, R) ink, (3, R, R) target in
    [-1, 1]) and their hint snapshots (None each for a model without hint inputs)."""
    out = Path(out)
    lock = ProcessLock(out / LOCK_FILE)
    lock.acquire()
    try:
        return _train(model_path, out, pairs_fn, config, resume, should_stop, on_event)
    finally:
        lock.release()


def _train(model_path, out, pairs_fn, config, resume, should_stop, on_event) -> Path:
    if list_checkpoints(out) and not resume:
        raise TrainingError(f"{out} holds a run already; add --resume to continue it")
    torch.manual_seed(config.seed)
    model = load_model(model_path)
    generator, g_config = with_levels(model, config.widths)
    generator.eval()  # the trunk's BatchNorms keep their statistics; the levels have none
    for p in generator.parameters():
        p.requires_grad_(False)
    levels: HighResLevels = generator.highres
    for p in levels.parameters():
        p.requires_grad_(True)
    discriminator = patch_discriminator(g_config.condition_channels)
    opt_g = torch.optim.Adam(levels.parameters(), lr=config.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=config.lr, betas=(0.5, 0.999))
    step = 0
    if resume:
        state, path, problems = load_latest_state(out)
        for problem in problems:
            on_event({"event": "log", "message": problem})
        if tuple(state["widths"]) != tuple(config.widths):
            raise TrainingError(
                f"the run in {out} trains levels {tuple(state['widths'])}, not {config.widths}"
            )
        levels.load_state_dict(state["levels"])
        discriminator.load_state_dict(state["discriminator"])
        opt_g.load_state_dict(state["opt_g"])
        opt_d.load_state_dict(state["opt_d"])
        set_rng_state(state["rng"])
        step = int(state["step"])
        on_event({"event": "log", "message": f"resumed from {path.name} at step {step}"})
        if step >= config.steps and (out / MODEL_NAME).is_file():
            on_event({"event": "done", "step": step, "model": str(out / MODEL_NAME)})
            return out / MODEL_NAME  # trained already: nothing to do

    resolution = g_config.output_resolution
    pairs, hints = pairs_fn(resolution)
    if config.limit:
        pairs, hints = pairs[: config.limit], hints[: config.limit]
    if not pairs:
        raise TrainingError("no training pictures")
    model.generator = generator
    started = time.perf_counter()
    cache = TrunkCache(
        model,
        pairs,
        hints,
        lambda done, total: (
            done % 100 == 0
            and on_event({"event": "log", "message": f"trunk features: {done}/{total}"})
        ),
    )
    del pairs
    on_event(
        {
            "event": "start",
            "pictures": len(cache),
            "step": step,
            "cache_seconds": round(time.perf_counter() - started, 1),
        }
    )
    gen = torch.Generator().manual_seed(config.seed * 1_000_003 + step)
    scale = levels.scale
    order: list[int] = []
    t_log = time.perf_counter()
    while step < config.steps and not should_stop():
        if len(order) < config.batch:
            order += torch.randperm(len(cache), generator=gen).tolist()
        indices, order = order[: config.batch], order[config.batch :]
        feats, trunk_image, cond, target = cache.batch(indices, config.crop, scale, gen)
        fake = levels(feats, trunk_image, cond)
        sketch = cond[:, :1]
        metrics: dict[str, float] = {}
        if config.adversarial:
            opt_d.zero_grad(set_to_none=True)
            real_logits = discriminator(cond, target)
            fake_logits = discriminator(cond, fake.detach())
            d_loss = d_loss_real("hinge", real_logits) + d_loss_fake("hinge", fake_logits)
            d_loss.backward()
            opt_d.step()
            metrics["d"] = d_loss.item()
        opt_g.zero_grad(set_to_none=True)
        l1 = (fake - target).abs().mean()
        loss = config.l1_weight * l1
        if config.adversarial:
            adv = g_loss("hinge", discriminator(cond, fake))
            loss = loss + adv
            metrics["g_adv"] = adv.item()
        loss.backward()
        opt_g.step()
        step += 1
        metrics["l1"] = l1.item()
        del sketch
        if step % config.log_every == 0 or step == config.steps:
            rate = config.log_every * config.batch / max(1e-9, time.perf_counter() - t_log)
            t_log = time.perf_counter()
            on_event(
                {
                    "event": "step",
                    "step": step,
                    "steps": config.steps,
                    "crops_per_s": round(rate, 1),
                    **{k: round(v, 5) for k, v in metrics.items()},
                }
            )
        if step % config.checkpoint_every == 0 or step == config.steps or should_stop():
            _checkpoint(out, step, config, levels, discriminator, opt_g, opt_d)
    if step % config.checkpoint_every and step != config.steps:
        _checkpoint(out, step, config, levels, discriminator, opt_g, opt_d)
    path = save_model(
        out / MODEL_NAME,
        generator,
        g_config,
        model.discriminator,
        model.discriminator_config,
        storage_dtype=stored_dtype(model_path),
        **{
            **_kept_metadata(model.metadata),
            "highres": {
                "steps": step,
                "widths": list(config.widths),
                "crop": config.crop,
                "pictures": len(cache),
            },
        },
    )
    on_event({"event": "done", "step": step, "model": str(path)})
    return path


def _checkpoint(out, step, config, levels, discriminator, opt_g, opt_d) -> None:
    save_state(
        out,
        step,
        {
            "step": step,
            "widths": list(config.widths),
            "levels": levels.state_dict(),
            "discriminator": discriminator.state_dict(),
            "opt_g": opt_g.state_dict(),
            "opt_d": opt_d.state_dict(),
            "rng": rng_state(),
        },
        keep=2,
    )


def _kept_metadata(meta: dict[str, Any]) -> dict[str, Any]:
    """The trunk's own metadata (name, data, step, ...), without what `save_model` writes."""
    return {
        k: v
        for k, v in meta.items()
        if k not in ("format", "format_version", "generator", "discriminator", "highres")
    }


__all__ = ["HighResConfig", "TrunkCache", "patch_discriminator", "train_highres", "with_levels"]
