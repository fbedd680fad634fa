"""The training loop: D phase, G phase, log, sample, checkpoint. A GUI or a CLI drives it
through `Trainer.run(should_stop, on_event)`; both are thin shells around it."""

from __future__ import annotations

import copy
import json
import time
import warnings
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from models import build_discriminator, build_generator, losses
from sketchpad.checkpoint import LoadedModel, load_model, save_model
from sketchpad.data import DataWarning, PairDataset, open_source
from sketchpad.devices import (
    choose_precision,
    describe_device,
    flush_denormals,
    resolve_device,
)
from sketchpad.errors import ConfigError, SketchpadError, TrainingError
from sketchpad.evaluate import evaluate, sample_grid
from sketchpad.train import distributed, events, state
from sketchpad.train.config import TrainConfig, config_from_saved
from sketchpad.train.events import Event, EventFn

CONFIG_NAME = "config.json"
MODEL_NAME = "model.safetensors"
METRICS_NAME = "metrics.jsonl"


def _unwrap(module: nn.Module) -> nn.Module:
    return module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module


def config_for_init(config: TrainConfig, model: LoadedModel) -> TrainConfig:
    """Fine-tuning keeps the model file's networks and resolution."""
    g = model.generator_config
    d = model.discriminator_config
    if d is None:
        d = replace(config.discriminator, resolution=g.resolution)
    aug = config.augment
    if (g.in_channels == 2) != aug.distance_field:
        aug = replace(aug, distance_field=g.in_channels == 2)
    return replace(config, resolution=g.resolution, generator=g, discriminator=d, augment=aug)


class Trainer:
    """Prepares everything (data, networks, resume state) in the constructor so that a bad
    `--data`, `--init` or run folder fails before any training, with a message to act on."""

    def __init__(
        self,
        config: TrainConfig,
        run_dir: str | Path,
        *,
        init: str | Path | None = None,
        resume: bool = False,
        resume_steps: int | None = None,
        dist_info: distributed.DistInfo | None = None,
        on_event: EventFn | None = None,
    ) -> None:
        """With `resume`, the run's saved configuration is used; `resume_steps` alone may
        change its total (the learning-rate schedule follows the new total)."""
        self.run_dir = Path(run_dir)
        self.dist = dist_info or distributed.DistInfo()
        self._emit_fn = on_event or (lambda event: None)
        self._held: list[Event] | None = []  # log lines from preparation, sent after "start"
        self.resume_state: dict[str, Any] | None = None
        init_model: LoadedModel | None = None

        if resume:
            saved = self.run_dir / CONFIG_NAME
            if not saved.is_file():
                raise TrainingError(
                    f"{self.run_dir} holds no run to resume ({CONFIG_NAME} is "
                    "missing); start a new run without --resume"
                )
            config = config_from_saved(json.loads(saved.read_text(encoding="utf-8")))
            if resume_steps is not None and resume_steps != config.steps:
                config = replace(config, steps=resume_steps)  # e.g. to train a run for longer
            self.resume_state, path, problems = state.load_latest_state(self.run_dir)
            for problem in problems:
                self.log("warning", f"skipped a damaged checkpoint: {problem}")
            self.log("info", f"resuming from {path.name} (step {self.resume_state['step']})")
        else:
            if state.list_checkpoints(self.run_dir):
                raise TrainingError(
                    f"{self.run_dir} already holds a training run; add --resume to continue it "
                    "or choose another --out folder"
                )
            if init is not None:
                init_model = load_model(init)
                config = config_for_init(config, init_model)
        self.config = config

        self._choose_device()
        if config.deterministic:
            torch.use_deterministic_algorithms(True)
        torch.manual_seed(config.seed)

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DataWarning)
            self.train_set: PairDataset = open_source(
                config.data,
                resolution=config.resolution,
                split="train",
                direction=config.direction,
                augment=config.augment,
                seed=config.seed,
            )
            self.val_set: PairDataset = open_source(
                config.data,
                resolution=config.resolution,
                split="val",
                direction=config.direction,
                augment=replace(
                    config.augment, flip=False, affine=False, thickness=False, dropout=False
                ),
                seed=config.seed,
            )
        for w in caught:
            self.log("warning", str(w.message))
        if len(self.train_set) < 1:
            raise ConfigError("the training split is empty")

        g = build_generator(config.generator)
        d = build_discriminator(config.discriminator)
        if init_model is not None:
            g.load_state_dict(init_model.generator.state_dict())
            if init_model.discriminator is not None:
                d.load_state_dict(init_model.discriminator.state_dict())
            self.log("info", f"fine-tuning from {Path(init).name}")
        g, d = self._setup_networks(g, d)
        if self.resume_state is not None:
            self._restore(g, d, self.resume_state)
        distributed.init(self.dist, self.device)
        self.g = distributed.wrap(g, self.dist, self.device)
        self.d = distributed.wrap(d, self.dist, self.device)
        self.fixed = [self.val_set[i] for i in range(min(config.sample_count, len(self.val_set)))]

    @classmethod
    def for_benchmark(cls, config: TrainConfig, g: nn.Module, d: nn.Module) -> Trainer:
        """The networks, optimizers and `train_step` alone: no data, no run folder."""
        t = cls.__new__(cls)
        t.config, t.dist, t.run_dir = config, distributed.DistInfo(), Path()
        t._emit_fn, t._held, t.resume_state = (lambda event: None), None, None
        t._choose_device()
        t.g, t.d = t._setup_networks(g, d)
        return t

    def _choose_device(self) -> None:
        flush_denormals()
        self.device = resolve_device(self.config.device)
        if self.dist.enabled and self.device.type == "cuda":
            self.device = torch.device("cuda", self.dist.local_rank)
            torch.cuda.set_device(self.device)
        self.precision = choose_precision(self.device, self.config.precision)

    def _setup_networks(self, g: nn.Module, d: nn.Module) -> tuple[nn.Module, nn.Module]:
        """Networks on the device, EMA copy, optimizers, grad scaler; step 0."""
        c = self.config
        memory = torch.channels_last if self.precision.channels_last else torch.preserve_format
        g = g.to(self.device, memory_format=memory)
        d = d.to(self.device, memory_format=memory)
        self.ema: nn.Module | None = copy.deepcopy(g).eval() if c.ema > 0 else None
        if self.ema is not None:
            self.ema.requires_grad_(False)
        self.opt_g = torch.optim.Adam(g.parameters(), c.lr_g, (c.beta1, c.beta2))
        self.opt_d = torch.optim.Adam(d.parameters(), c.lr_d, (c.beta1, c.beta2))
        self.scaler = torch.amp.GradScaler(
            self.device.type, enabled=self.precision.dtype == torch.float16
        )
        self.step = 0
        return g, d

    # -- events -------------------------------------------------------------------------------
    def log(self, level: str, message: str) -> None:
        self.emit(events.make("log", level=level, message=message))

    def emit(self, event: Event) -> None:
        if not self.dist.is_main:
            return
        if self._held is not None and event["event"] == "log":
            self._held.append(event)
            return
        self._emit_fn(event)
        if event["event"] == "start":
            self.flush_held()

    def flush_held(self) -> None:
        held, self._held = self._held or [], None
        for event in held:
            self._emit_fn(event)

    def _metrics_line(self, record: dict[str, Any]) -> None:
        if self.dist.is_main:
            with open(self.run_dir / METRICS_NAME, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")

    # -- state --------------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "epoch": self._epoch_of(self.step),
            "G": _unwrap(self.g).state_dict(),
            "D": _unwrap(self.d).state_dict(),
            "EMA": self.ema.state_dict() if self.ema is not None else None,
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": state.rng_state(),
            "config": json.dumps(self.config.to_dict()),
        }

    def _restore(self, g: nn.Module, d: nn.Module, saved: dict[str, Any]) -> None:
        try:
            g.load_state_dict(saved["G"])
            d.load_state_dict(saved["D"])
            if self.ema is not None and saved.get("EMA") is not None:
                self.ema.load_state_dict(saved["EMA"])
            self.opt_g.load_state_dict(saved["opt_g"])
            self.opt_d.load_state_dict(saved["opt_d"])
            if saved.get("scaler"):
                self.scaler.load_state_dict(saved["scaler"])
        except (KeyError, RuntimeError, ValueError) as exc:
            raise TrainingError(
                f"the checkpoint does not match this run's networks ({exc}); start a new run"
            ) from exc
        self.step = int(saved["step"])
        state.set_rng_state(saved["rng"])

    def export_generator(self) -> nn.Module:
        return self.ema if self.ema is not None else _unwrap(self.g)

    def save(self) -> tuple[Path, Path]:
        """Trainer state (for resume) and the exported model file; rank 0 only."""
        ckpt = state.save_state(
            self.run_dir, self.step, self._state(), self.config.keep_checkpoints
        )
        model = self.export()
        return ckpt, model

    def export(self, path: Path | None = None) -> Path:
        c = self.config
        return save_model(
            path or self.run_dir / MODEL_NAME,
            self.export_generator(),
            c.generator,
            _unwrap(self.d),
            c.discriminator,
            step=self.step,
            name=self.run_dir.name,
            data=c.data,
            description=c.description or f"trained on {c.data} for {self.step} steps",
            sketch_encoding="distance_field" if c.augment.distance_field else "ink",
            ema=c.ema > 0,
        )

    # -- data ---------------------------------------------------------------------------------
    def _batches_per_epoch(self) -> int:
        per_step = self.config.batch * self.dist.world_size
        return max(1, len(self.train_set) // per_step)

    def _epoch_of(self, step: int) -> int:
        return step // self._batches_per_epoch()

    def _indices(self, step: int) -> list[int]:
        """This rank's items for a step: a function of (seed, step) alone, so a resumed run
        sees the same data in the same order."""
        n, b, w = len(self.train_set), self.config.batch, self.dist.world_size
        epoch, k = divmod(step, self._batches_per_epoch())
        g = torch.Generator().manual_seed(self.config.seed * 1_000_003 + epoch)
        order = torch.randperm(n, generator=g)
        while order.numel() < b * w:  # fewer items than one global batch
            order = torch.cat([order, torch.randperm(n, generator=g)])
        start = (k * w + self.dist.rank) * b
        return order[start : start + b].tolist()

    def _load_batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        self.train_set.set_epoch(self._epoch_of(step))
        items = [self.train_set[i] for i in self._indices(step)]
        return torch.stack([it["sketch"] for it in items]), torch.stack(
            [it["image"] for it in items]
        )

    # -- one step -----------------------------------------------------------------------------
    def _lr_factor(self, step: int) -> float:
        c = self.config
        if c.lr_schedule == "constant":
            return 1.0
        start = c.steps * (1 - c.decay_fraction)
        if step < start:
            return 1.0
        return max(0.0, 1.0 - (step - start) / max(1.0, c.steps - start))

    def _check(self, name: str, value: torch.Tensor) -> None:
        if not torch.isfinite(value):
            raise TrainingError(
                f"the {name} loss became {value.item()} at step {self.step + 1}; stopped without "
                "saving, so the last checkpoint is intact. Lower the learning rates or use "
                "--precision fp32, then --resume."
            )

    def train_step(self, sketch: torch.Tensor, real: torch.Tensor) -> dict[str, float]:
        c, lc = self.config, self.config.loss
        memory = torch.channels_last if self.precision.channels_last else torch.contiguous_format
        sketch = sketch.to(self.device).contiguous(memory_format=memory)
        real = real.to(self.device).contiguous(memory_format=memory)
        factor = self._lr_factor(self.step)
        for opt, lr in ((self.opt_g, c.lr_g), (self.opt_d, c.lr_d)):
            for group in opt.param_groups:
                group["lr"] = lr * factor

        # D phase
        with self.precision.autocast():
            fake = self.g(sketch)
            d_real = self.d(sketch, real)
            d_fake = self.d(sketch, fake.detach())
        loss_real = losses.d_loss_real(lc.objective, d_real)
        loss_fake = losses.d_loss_fake(lc.objective, d_fake)
        loss_d = loss_real + loss_fake
        gp = None
        if lc.objective == "wgangp":
            critic = _unwrap(self.d)
            gp = losses.gradient_penalty(lambda x: critic(sketch, x), real, fake, lc.gp_weight)
            loss_d = loss_d + gp
        self._check("discriminator", loss_d)
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
        loss_g = g_adv + g_l1 + g_fm
        self._check("generator", loss_g)
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
        if gp is not None:
            out["gp"] = gp.item()
        return out

    @torch.no_grad()
    def _update_ema(self) -> None:
        decay = min(self.config.ema, (1 + self.step) / (10 + self.step))  # warm-up
        src = _unwrap(self.g)
        for pe, p in zip(self.ema.parameters(), src.parameters(), strict=True):
            pe.lerp_(p.detach(), 1 - decay)
        for be, b in zip(self.ema.buffers(), src.buffers(), strict=True):
            be.copy_(b)

    # -- the run ------------------------------------------------------------------------------
    def run(self, should_stop: Callable[[], bool] = lambda: False) -> Path:
        """Train to `config.steps`; returns the exported model file. `should_stop()` is polled
        between steps: the current step finishes, a checkpoint is saved and the run ends."""
        c = self.config
        if self.dist.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            (self.run_dir / CONFIG_NAME).write_text(
                json.dumps(c.to_dict(), indent=2) + "\n", encoding="utf-8"
            )
        self.emit(
            events.make(
                "start",
                config=c.to_dict(),
                run_dir=str(self.run_dir),
                device=describe_device(self.device, self.precision),
                precision=self.precision.name,
                start_step=self.step,
                total_steps=c.steps,
                batch_per_process=c.batch,
                batch_total=c.batch * self.dist.world_size,
                world_size=self.dist.world_size,
                data=self.train_set.describe(),
            )
        )
        stopped = False
        window: dict[str, float] = {}
        window_steps, window_start = 0, time.perf_counter()
        pool = ThreadPoolExecutor(1, thread_name_prefix="sketchpad-data")
        pending: Future | None = None
        last_saved = self.step if self.resume_state is not None else -1
        try:
            while self.step < c.steps:
                if distributed.any_rank(should_stop(), self.dist, self.device):
                    stopped = True
                    break
                batch = pending.result() if pending else self._load_batch(self.step)
                # The next batch loads while this one trains, except in deterministic mode:
                # two threads sharing the intra-op pool can change reduction order.
                pending = None
                if self.step + 1 < c.steps and not c.deterministic:
                    pending = pool.submit(self._load_batch, self.step + 1)
                for key, value in self.train_step(*batch).items():
                    window[key] = window.get(key, 0.0) + value
                window_steps += 1
                if self.step % c.log_every == 0 or self.step == c.steps:
                    elapsed = time.perf_counter() - window_start
                    ips = window_steps * c.batch * self.dist.world_size / max(elapsed, 1e-9)
                    eta = (c.steps - self.step) * c.batch * self.dist.world_size / max(ips, 1e-9)
                    avg = {k: v / window_steps for k, v in window.items()}
                    event = events.make(
                        "step",
                        step=self.step,
                        total_steps=c.steps,
                        epoch=self._epoch_of(self.step - 1),
                        losses=avg,
                        lr_g=self.opt_g.param_groups[0]["lr"],
                        lr_d=self.opt_d.param_groups[0]["lr"],
                        images_per_s=round(ips, 3),
                        eta_s=round(eta, 1),
                    )
                    self.emit(event)
                    self._metrics_line({"step": self.step, **avg, "images_per_s": ips})
                    window, window_steps, window_start = {}, 0, time.perf_counter()
                if self.dist.is_main and self.step % c.sample_every == 0:
                    self._sample()
                if c.eval_every and self.step % c.eval_every == 0:
                    self._eval()
                if self.step % c.checkpoint_every == 0:
                    self._checkpoint()
                    last_saved = self.step
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        if self.step != last_saved:
            self._checkpoint()
        if not stopped:
            self._eval()
            if self.dist.is_main and self.step % c.sample_every:
                self._sample()
        nets = (_unwrap(self.g), _unwrap(self.d))
        distributed.sync_buffers(self.dist, *nets)
        fingerprints = distributed.all_digests(distributed.digest(*nets), self.dist, self.device)
        in_sync = len(set(fingerprints)) == 1
        if not in_sync:
            self.log("warning", f"ranks ended with different weights: {fingerprints}")
        model = self.run_dir / MODEL_NAME
        self.emit(
            events.make(
                "done", step=self.step, model=str(model), stopped=stopped, ranks_in_sync=in_sync
            )
        )
        return model

    def _checkpoint(self) -> None:
        if self.dist.is_main:
            ckpt, model = self.save()
            self.emit(events.make("checkpoint", step=self.step, path=str(ckpt), model=str(model)))

    def _sample(self) -> None:
        path = self.run_dir / "samples" / f"step_{self.step:08d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        sample_grid(self.export_generator(), self.fixed, self.precision).save(path)
        self.emit(events.make("sample", step=self.step, path=str(path)))

    def _eval(self) -> None:
        if not self.dist.is_main:
            return
        report = evaluate(
            self.export_generator(), self.val_set, self.precision, limit=self.config.eval_limit
        )
        record = {k: report[k] for k in ("count", "metrics", "identity")}
        self.emit(events.make("eval", step=self.step, split=self.val_set.split, **record))
        self._metrics_line({"step": self.step, "eval": record})


_KEEP_ALIVE: list[Trainer] = []


def run_training(
    config: TrainConfig,
    run_dir: str | Path,
    *,
    init: str | Path | None = None,
    resume: bool = False,
    resume_steps: int | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    on_event: EventFn | None = None,
) -> Path:
    """Prepare and run; errors become an `error` event (and are raised again)."""
    emit = on_event or (lambda event: None)
    info = distributed.from_environment()
    trainer: Trainer | None = None
    try:
        trainer = Trainer(
            config,
            run_dir,
            init=init,
            resume=resume,
            resume_steps=resume_steps,
            dist_info=info,
            on_event=emit,
        )
        model = trainer.run(should_stop)
        if info.enabled:
            # Freeing DDP's process group with the GIL held can deadlock against gloo's threads
            # (torch 2.13, CPU): a torchrun worker keeps it and exits without tearing down.
            _KEEP_ALIVE.append(trainer)
        return model
    except SketchpadError as exc:
        if trainer is not None:
            trainer.flush_held()
        if info.is_main:
            emit(events.make("error", message=str(exc), step=trainer.step if trainer else None))
        raise
    finally:
        distributed.shutdown(info)
