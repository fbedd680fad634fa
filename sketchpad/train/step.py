"""The GAN step: two networks, their optimisers, the grad scaler, the generator's EMA copy and
the learning-rate schedule, and one training step that reads top to bottom (D phase, G phase,
EMA). It knows nothing of files, data or events, so a benchmark builds one directly:

    gan = GanStep(config, build_generator(g_cfg), build_discriminator(d_cfg), device, precision)
    losses = gan.train_step(sketch, real)
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from models import losses
from sketchpad.devices import Precision
from sketchpad.errors import TrainingError
from sketchpad.train import distributed
from sketchpad.train.config import TrainConfig


@contextlib.contextmanager
def frozen_norm_statistics(module: nn.Module) -> Iterator[None]:
    """Forward passes inside leave every BatchNorm's running statistics unchanged (momentum 0)
    while still normalising with the batch's own, as in training."""
    norms = [
        m
        for m in module.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.num_batches_tracked is not None
    ]
    saved = [(m.momentum, m.num_batches_tracked.clone()) for m in norms]
    try:
        for m in norms:
            m.momentum = 0.0
        yield
    finally:
        for m, (momentum, tracked) in zip(norms, saved, strict=True):
            m.momentum = momentum
            m.num_batches_tracked.copy_(tracked)


def unwrap(module: nn.Module) -> nn.Module:
    """The network inside a DDP wrapper (or the network itself)."""
    return module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module


class GanStep:
    """`step` counts the steps taken; `state_dict()` / `load_state_dict()` carry everything a
    resumed run needs to continue exactly (with the run's RNG state)."""

    def __init__(
        self,
        config: TrainConfig,
        generator: nn.Module,
        discriminator: nn.Module,
        device: torch.device,
        precision: Precision,
    ) -> None:
        self.config = config
        self.device = device
        self.precision = precision
        self.memory_format = (
            torch.channels_last if precision.channels_last else torch.contiguous_format
        )
        to = {"memory_format": torch.channels_last} if precision.channels_last else {}
        self.g: nn.Module = generator.to(device, **to)
        self.d: nn.Module = discriminator.to(device, **to)
        self.ema: nn.Module | None = None
        if config.ema > 0:
            self.ema = copy.deepcopy(self.g).eval().requires_grad_(False)
        betas = (config.beta1, config.beta2)
        self.opt_g = torch.optim.Adam(self.g.parameters(), config.lr_g, betas)
        self.opt_d = torch.optim.Adam(self.d.parameters(), config.lr_d, betas)
        self.scaler = torch.amp.GradScaler(device.type, enabled=precision.dtype == torch.float16)
        self.step = 0

    # -- the networks -------------------------------------------------------------------------
    @property
    def generator(self) -> nn.Module:
        return unwrap(self.g)

    @property
    def discriminator(self) -> nn.Module:
        return unwrap(self.d)

    def export_generator(self) -> nn.Module:
        """What a model file gets: the EMA copy when there is one."""
        return self.ema if self.ema is not None else self.generator

    def distribute(self, dist: distributed.DistInfo) -> None:
        """Wrap both networks for DDP (after any state was loaded); a no-op in one process."""
        self.g = distributed.wrap(self.g, dist, self.device)
        self.d = distributed.wrap(self.d, dist, self.device)

    # -- state --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "G": self.generator.state_dict(),
            "D": self.discriminator.state_dict(),
            "EMA": self.ema.state_dict() if self.ema is not None else None,
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "scaler": self.scaler.state_dict(),
        }

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        try:
            self.generator.load_state_dict(saved["G"])
            self.discriminator.load_state_dict(saved["D"])
            if self.ema is not None:  # a run that turns EMA on mid-run starts it from G
                self.ema.load_state_dict(
                    saved["EMA"] if saved.get("EMA") is not None else self.generator.state_dict()
                )
            self.opt_g.load_state_dict(saved["opt_g"])
            self.opt_d.load_state_dict(saved["opt_d"])
            if saved.get("scaler"):
                self.scaler.load_state_dict(saved["scaler"])
        except (KeyError, RuntimeError, ValueError) as exc:
            raise TrainingError(
                f"the checkpoint does not match this run's networks ({exc}); start a new run"
            ) from exc
        self.step = int(saved["step"])
        # The optimisers' saved settings give way to this run's (a resumed run may change
        # them); the learning rates are set at every step.
        for opt in (self.opt_g, self.opt_d):
            for group in opt.param_groups:
                group["betas"] = (self.config.beta1, self.config.beta2)

    # -- one step -----------------------------------------------------------------------------
    def lr_factor(self, step: int) -> float:
        """The schedule: 1, then (linear) down to 0 over the last `decay_fraction` of steps."""
        c = self.config
        if c.lr_schedule == "constant":
            return 1.0
        start = c.steps * (1 - c.decay_fraction)
        if step < start:
            return 1.0
        return max(0.0, 1.0 - (step - start) / max(1.0, c.steps - start))

    def train_step(
        self, sketch: torch.Tensor, real: torch.Tensor, hints: torch.Tensor | None = None
    ) -> dict[str, float]:
        """One D update and one G update on a batch (`hints`: the generator's colour-hint
        channels, for a generator that takes them); returns the loss terms. The discriminator
        judges the picture against the sketch alone."""
        lc = self.config.loss
        sketch = sketch.to(self.device).contiguous(memory_format=self.memory_format)
        real = real.to(self.device).contiguous(memory_format=self.memory_format)
        if hints is not None:
            hints = hints.to(self.device).contiguous(memory_format=self.memory_format)
        noise = self._noise(sketch.shape[0])
        noise_gap = None
        if noise is not None and lc.noise_choices > 1:
            noise, noise_gap = self._nearest_noise(sketch, real, hints, lc.noise_choices)
        factor = self.lr_factor(self.step)
        for opt, lr in ((self.opt_g, self.config.lr_g), (self.opt_d, self.config.lr_d)):
            for group in opt.param_groups:
                group["lr"] = lr * factor

        # D phase
        with self.precision.autocast():
            fake = self.g(sketch, noise, hints)
            d_real = self.d(sketch, real)
            d_fake = self.d(sketch, fake.detach())
        loss_real = losses.d_loss_real(lc.objective, d_real)
        loss_fake = losses.d_loss_fake(lc.objective, d_fake)
        loss_d = loss_real + loss_fake
        gp = None
        if lc.objective == "wgangp":
            critic = self.discriminator
            gp = losses.gradient_penalty(lambda x: critic(sketch, x), real, fake, lc.gp_weight)
            loss_d = loss_d + gp
        self._require_finite("discriminator", loss_d)
        self.opt_d.zero_grad(set_to_none=True)
        self.scaler.scale(loss_d).backward()
        self.scaler.step(self.opt_d)

        # G phase
        with self.precision.autocast():
            want_fm = lc.feature_matching_weight > 0
            if want_fm:
                d_fake, fake_feats = self.d(sketch, fake, features=True)
                with torch.no_grad():
                    _, real_feats = self.d(sketch, real, features=True)
            else:
                d_fake = self.d(sketch, fake)
        g_adv = losses.g_loss(lc.objective, d_fake)
        g_l1 = lc.l1_weight * losses.l1_loss(fake, real)
        g_fm = (
            lc.feature_matching_weight * losses.feature_matching_loss(real_feats, fake_feats)
            if want_fm
            else torch.zeros((), device=self.device)
        )
        g_ms = torch.zeros((), device=self.device)
        if noise is not None and lc.mode_seeking_weight > 0:
            # MSGAN: the first half of the batch again, with other noise
            half = max(1, sketch.shape[0] // 2)
            other = self._noise(half)
            with self.precision.autocast():
                fake_b = self.g(sketch[:half], other, None if hints is None else hints[:half])
            open_area = None if hints is None else 1.0 - hints[:half, -1:]  # not where hinted
            g_ms = lc.mode_seeking_weight * losses.mode_seeking_loss(
                fake[:half].float(),
                fake_b.float(),
                noise[:half],
                other,
                open_area=open_area,
                cap=lc.mode_seeking_cap,
                pool=lc.mode_seeking_pool,
            )
        loss_g = g_adv + g_l1 + g_fm + g_ms
        self._require_finite("generator", loss_g)
        self.opt_g.zero_grad(set_to_none=True)
        self.scaler.scale(loss_g).backward()
        self.scaler.step(self.opt_g)
        self.scaler.update()
        if self.ema is not None:
            self._update_ema()
        self.step += 1
        out = {
            "d_real": loss_real.item(),
            "d_fake": loss_fake.item(),
            "g_adv": g_adv.item(),
            "g_l1": g_l1.item(),
            "g_fm": g_fm.item(),
        }
        if noise is not None:
            out["g_ms"] = g_ms.item()
        if noise_gap is not None:
            out["noise_gap"] = noise_gap
        if gp is not None:
            out["gp"] = gp.item()
        return out

    def _noise(self, batch: int) -> torch.Tensor | None:
        """Fresh noise maps for a generator that takes them (None otherwise)."""
        g = self.generator
        if not getattr(g, "noise_merge", None):
            return None
        return torch.randn(g.noise_shape(batch), device=self.device)

    @torch.no_grad()
    def _nearest_noise(
        self, sketch: torch.Tensor, real: torch.Tensor, hints: torch.Tensor | None, choices: int
    ) -> tuple[torch.Tensor, float]:
        """Conditional IMLE's choice: `choices` noises per item, each tried on the whole batch
        (so BatchNorm sees the batch the training forward will), and per item the one whose
        picture is nearest the target (L1). Returns the chosen noise and how much nearer it is
        than the average try (L1, in [0, 1]: 0 while the generator ignores its noise). The
        tries leave the running BatchNorm statistics as they were."""
        g = self.generator
        tries = [self._noise(sketch.shape[0]) for _ in range(choices)]
        with frozen_norm_statistics(g), self.precision.autocast():
            dist = torch.stack(
                [
                    (g(sketch, z, hints).float() - real.float()).abs().mean(dim=(1, 2, 3))
                    for z in tries
                ]
            )  # (choices, B)
        best = dist.argmin(dim=0)  # (B,)
        chosen = torch.stack(tries)[best, torch.arange(sketch.shape[0], device=best.device)]
        gap = (dist.mean(dim=0) - dist.min(dim=0).values).mean().item()
        return chosen, gap

    def _require_finite(self, name: str, value: torch.Tensor) -> None:
        if not torch.isfinite(value):
            raise TrainingError(
                f"the {name} loss became {value.item()} at step {self.step + 1}; stopped without "
                "saving, so the last checkpoint is intact. Lower the learning rates or use "
                "--precision fp32, then --resume."
            )

    @torch.no_grad()
    def _update_ema(self) -> None:
        decay = min(self.config.ema, (1 + self.step) / (10 + self.step))  # warm-up
        src = self.generator
        for pe, p in zip(self.ema.parameters(), src.parameters(), strict=True):
            pe.lerp_(p.detach(), 1 - decay)
        for be, b in zip(self.ema.buffers(), src.buffers(), strict=True):
            be.copy_(b)
