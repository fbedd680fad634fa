"""A training run: a run folder, data, a `GanStep` driven step after step, and what a run does
around it (resume or fine-tune, log, sample, evaluate, checkpoint, several processes). A GUI or
a CLI drives it through `run_training(..., should_stop, on_event)`; both are thin shells
around it."""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from models import build_discriminator, build_generator
from sketchpad.checkpoint import LoadedModel, load_model, save_model
from sketchpad.data import DataWarning, PairDataset, open_source
from sketchpad.devices import (
    Precision,
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
from sketchpad.train.run_files import CONFIG_NAME, METRICS_NAME, MODEL_NAME, SAMPLES_FOLDER
from sketchpad.train.step import GanStep


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


def training_device(
    config: TrainConfig, dist: distributed.DistInfo | None = None
) -> tuple[torch.device, Precision]:
    """The device and precision a run trains with (under DDP on CUDA: this rank's GPU)."""
    flush_denormals()
    device = resolve_device(config.device)
    if dist is not None and dist.enabled and device.type == "cuda":
        device = torch.device("cuda", dist.local_rank)
        torch.cuda.set_device(device)
    return device, choose_precision(device, config.precision)


class TrainingRun:
    """Prepares everything (data, networks, resume state) in the constructor so that a bad
    `--data`, `--init` or run folder fails before any training, with a message to act on;
    `run()` then trains."""

    def __init__(
        self,
        config: TrainConfig,  # what to train; with `resume`, the run's saved one is used instead
        run_dir: str | Path,  # the run folder: config.json, checkpoints/, samples/, the model
        *,
        init: str | Path | None = None,  # a model file to fine-tune (its networks are kept)
        resume: bool = False,  # continue the run in `run_dir` from its newest good checkpoint
        resume_steps: int | None = None,  # with `resume`: a new total (the schedule follows it)
        dist_info: distributed.DistInfo | None = None,  # this process's rank (DDP); None: alone
        on_event: EventFn | None = None,  # gets every event (`sketchpad.train.events`)
    ) -> None:
        self.run_dir = Path(run_dir)
        self.dist = dist_info or distributed.DistInfo()
        self._emit_fn = on_event or (lambda event: None)
        self._held: list[Event] | None = []  # log lines from preparation, sent after "start"
        self.resumed = False
        init_model: LoadedModel | None = None
        resume_state: dict[str, Any] | None = None

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
            resume_state, path, problems = state.load_latest_state(self.run_dir)
            for problem in problems:
                self.log("warning", f"skipped a damaged checkpoint: {problem}")
            self.log("info", f"resuming from {path.name} (step {resume_state['step']})")
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

        device, precision = training_device(config, self.dist)
        if config.deterministic:
            torch.use_deterministic_algorithms(True)
        torch.manual_seed(config.seed)
        self.train_set, self.val_set = self._open_data()

        g = build_generator(config.generator)
        d = build_discriminator(config.discriminator)
        if init_model is not None:
            g.load_state_dict(init_model.generator.state_dict())
            if init_model.discriminator is not None:
                d.load_state_dict(init_model.discriminator.state_dict())
            self.log("info", f"fine-tuning from {Path(init).name}")
        self.gan = GanStep(config, g, d, device, precision)
        if resume_state is not None:
            self.gan.load_state_dict(resume_state)
            state.set_rng_state(resume_state["rng"])
            self.resumed = True
        distributed.init(self.dist, device)
        self.gan.distribute(self.dist)
        self.fixed = [self.val_set[i] for i in range(min(config.sample_count, len(self.val_set)))]

    @property
    def step(self) -> int:
        return self.gan.step

    def _open_data(self) -> tuple[PairDataset, PairDataset]:
        c = self.config
        still = replace(c.augment, flip=False, affine=False, thickness=False, dropout=False)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DataWarning)
            train_set = open_source(
                c.data,
                resolution=c.resolution,
                split="train",
                direction=c.direction,
                augment=c.augment,
                seed=c.seed,
            )
            val_set = open_source(
                c.data,
                resolution=c.resolution,
                split="val",
                direction=c.direction,
                augment=still,
                seed=c.seed,
            )
        for w in caught:
            self.log("warning", str(w.message))
        if len(train_set) < 1:
            raise ConfigError("the training split is empty")
        return train_set, val_set

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

    # -- files --------------------------------------------------------------------------------
    def save(self) -> tuple[Path, Path]:
        """Trainer state (for resume) and the exported model file; rank 0 only."""
        run_state = {
            **self.gan.state_dict(),
            "epoch": self._epoch_of(self.step),
            "rng": state.rng_state(),
            "config": json.dumps(self.config.to_dict()),
        }
        ckpt = state.save_state(self.run_dir, self.step, run_state, self.config.keep_checkpoints)
        return ckpt, self.export()

    def export(self, path: Path | None = None) -> Path:
        c = self.config
        return save_model(
            path or self.run_dir / MODEL_NAME,
            self.gan.export_generator(),
            c.generator,
            self.gan.discriminator,
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
                device=describe_device(self.gan.device, self.gan.precision),
                precision=self.gan.precision.name,
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
        last_saved = self.step if self.resumed else -1
        try:
            while self.step < c.steps:
                if distributed.any_rank(should_stop(), self.dist, self.gan.device):
                    stopped = True
                    break
                batch = pending.result() if pending else self._load_batch(self.step)
                # The next batch loads while this one trains, except in deterministic mode:
                # two threads sharing the intra-op pool can change reduction order.
                pending = None
                if self.step + 1 < c.steps and not c.deterministic:
                    pending = pool.submit(self._load_batch, self.step + 1)
                for key, value in self.gan.train_step(*batch).items():
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
                        lr_g=self.gan.opt_g.param_groups[0]["lr"],
                        lr_d=self.gan.opt_d.param_groups[0]["lr"],
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
        nets = (self.gan.generator, self.gan.discriminator)
        distributed.sync_buffers(self.dist, *nets)
        digest = distributed.digest(*nets)
        fingerprints = distributed.all_digests(digest, self.dist, self.gan.device)
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
        path = self.run_dir / SAMPLES_FOLDER / f"step_{self.step:08d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        sample_grid(self.gan.export_generator(), self.fixed, self.gan.precision).save(path)
        self.emit(events.make("sample", step=self.step, path=str(path)))

    def _eval(self) -> None:
        if not self.dist.is_main:
            return
        generator, precision = self.gan.export_generator(), self.gan.precision
        report = evaluate(generator, self.val_set, precision, limit=self.config.eval_limit)
        record = {k: report[k] for k in ("count", "metrics", "identity")}
        self.emit(events.make("eval", step=self.step, split=self.val_set.split, **record))
        self._metrics_line({"step": self.step, "eval": record})


_KEEP_ALIVE: list[TrainingRun] = []


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
    run: TrainingRun | None = None
    try:
        run = TrainingRun(
            config,
            run_dir,
            init=init,
            resume=resume,
            resume_steps=resume_steps,
            dist_info=info,
            on_event=emit,
        )
        model = run.run(should_stop)
        if info.enabled:
            # Freeing DDP's process group with the GIL held can deadlock against gloo's threads
            # (torch 2.13, CPU): a torchrun worker keeps it and exits without tearing down.
            _KEEP_ALIVE.append(run)
        return model
    except SketchpadError as exc:
        if run is not None:
            run.flush_held()
        if info.is_main:
            emit(events.make("error", message=str(exc), step=run.step if run else None))
        raise
    finally:
        distributed.shutdown(info)
