"""A training run: a run folder, data, a `GanStep` driven step after step, and what a run does
around it (resume or fine-tune, log, sample, evaluate, checkpoint, several processes). A GUI or
a CLI drives it through `run_training(..., should_stop, on_event)`; both are thin shells
around it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import torch

from models import build_discriminator, build_generator
from models.grow import load_grown
from sketchpad.checkpoint import save_model
from sketchpad.devices import (
    Precision,
    choose_precision,
    describe_device,
    flush_denormals,
    resolve_device,
)
from sketchpad.errors import SketchpadError
from sketchpad.evaluate import evaluate, sample_grid
from sketchpad.train import distributed, events, state
from sketchpad.train.canvas_sketch import CanvasSketch
from sketchpad.train.config import TrainConfig, check_networks
from sketchpad.train.events import Event, EventFn
from sketchpad.train.plan import config_for_init, prepare_run
from sketchpad.train.resume import Changes
from sketchpad.train.run_data import RunData
from sketchpad.train.run_files import (
    CANVAS_SKETCH_NAME,
    METRICS_NAME,
    MODEL_NAME,
    SAMPLES_FOLDER,
)
from sketchpad.train.run_folder import RunFolder, writing
from sketchpad.train.step import GanStep
from sketchpad.train.timing import StepTiming

__all__ = ["TrainingRun", "config_for_init", "run_training", "training_device"]


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
    """Prepares everything (run folder, data, networks, resume state) in the constructor so
    that a bad `--data`, `--init` or run folder fails before any training, with a message to
    act on; `run()` then trains. The run folder is locked from the start of the constructor
    to the end of `run()` (or `close()`), so no second trainer writes into it meanwhile."""

    def __init__(
        self,
        config: TrainConfig | None,  # what to train; with `resume`, the run's saved one instead
        run_dir: str | Path,  # the run folder: config.json, checkpoints/, samples/, the model
        *,
        init: str | Path | None = None,  # a model file to fine-tune (its networks are kept)
        resume: bool = False,  # continue the run in `run_dir` from its newest good checkpoint
        changes: Changes | Mapping[str, Any] | None = None,  # with `resume`: fields given anew
        overwrite: bool = False,  # a new run in a folder that holds files of another kind
        dist_info: distributed.DistInfo | None = None,  # this process's rank (DDP); None: alone
        on_event: EventFn | None = None,  # gets every event (`sketchpad.train.events`)
    ) -> None:
        self.run_dir = Path(run_dir)
        self.dist = dist_info or distributed.DistInfo()
        self._emit_fn = on_event or (lambda event: None)
        self._held: list[Event] | None = []  # log lines from preparation, sent after "start"
        self.resumed = False
        self.folder = RunFolder(self.run_dir)
        options = {"init": init, "resume": resume, "changes": changes, "overwrite": overwrite}
        try:
            self._prepare(config, options)
        except BaseException:
            self.close(discard=True)
            raise

    def _prepare(self, config: TrainConfig | None, options: dict[str, Any]) -> None:
        main, log = self.dist.is_main, self.log
        self.phase("reading the run's configuration")
        plan, resume_state = prepare_run(self.folder, config, **options, main=main, log=log)
        self.config = config = plan.config
        check_networks(config)

        device, precision = training_device(config, self.dist)
        if config.deterministic:
            torch.use_deterministic_algorithms(True)
        torch.manual_seed(config.seed)
        self.phase("preparing the data")
        self.data = RunData(config, self.dist, self.log)
        self.train_set, self.val_set = self.data.train_set, self.data.val_set

        self.phase("building the networks")
        g = build_generator(config.generator)
        d = build_discriminator(config.discriminator)
        if plan.init_model is not None:
            grown = load_grown(g, plan.init_model.generator.state_dict())
            if grown:
                takes = ", ".join(config.generator.inputs)
                self.log("info", f"the generator now takes {takes} (new inputs start at zero)")
            if plan.init_model.discriminator is not None:
                d.load_state_dict(plan.init_model.discriminator.state_dict())
            self.log("info", f"fine-tuning from {Path(options['init']).name}")
        self.gan = GanStep(config, g, d, device, precision)
        if resume_state is not None:
            self.gan.load_state_dict(resume_state)
            state.set_rng_state(resume_state["rng"])
            self.resumed = True
        distributed.init(self.dist, device)
        self.gan.distribute(self.dist)
        self.fixed = [self.val_set[i] for i in range(min(config.sample_count, len(self.val_set)))]
        self.canvas = CanvasSketch(self.run_dir / CANVAS_SKETCH_NAME, config)

    def close(self, *, discard: bool = False) -> None:
        """Let the run folder go (`run()` does at its end); with `discard`, remove the folder
        when this run created it and wrote nothing in it."""
        self.folder.release(discard=discard)

    @property
    def step(self) -> int:
        return self.gan.step

    # -- events -------------------------------------------------------------------------------
    def phase(self, what: str) -> None:
        """What the trainer does before its first step, for a progress line that moves."""
        self.emit(events.make("phase", phase=what))

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
            path = self.run_dir / METRICS_NAME
            with writing(str(path), self._kept), open(path, "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")

    # -- files --------------------------------------------------------------------------------
    def _kept(self) -> str:
        """What a failed write leaves to resume from, and what to do."""
        saved = state.list_checkpoints(self.run_dir)
        if not saved:
            return "No checkpoint was saved yet: make room (or fix the folder) and start again."
        step, path = saved[-1]
        return (
            f"The checkpoint {path.name} (step {step}) is kept: make room (or fix the folder), "
            "then continue with --resume."
        )

    def save(self) -> tuple[Path, Path]:
        """Trainer state (for resume) and the exported model file; rank 0 only."""
        run_state = {
            **self.gan.state_dict(),
            "epoch": self.data.epoch_of(self.step),
            "rng": state.rng_state(),
            "config": json.dumps(self.config.to_dict()),
        }
        keep = self.config.keep_checkpoints
        what = f"the checkpoint for step {self.step} in {state.checkpoint_dir(self.run_dir)}"
        with writing(what, self._kept):
            ckpt = state.save_state(self.run_dir, self.step, run_state, keep)
        with writing(f"the model file {self.run_dir / MODEL_NAME}", self._kept):
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

    # -- the run ------------------------------------------------------------------------------
    def run(self, should_stop: Callable[[], bool] = lambda: False) -> Path:
        """Train to `config.steps`; returns the exported model file. `should_stop()` is polled
        between steps: the current step finishes, a checkpoint is saved and the run ends."""
        try:
            return self._run(should_stop)
        finally:
            self.close()

    def _run(self, should_stop: Callable[[], bool]) -> Path:
        c = self.config
        if self.dist.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            if not self.resumed:  # a new run's metrics start afresh (--overwrite)
                (self.run_dir / METRICS_NAME).unlink(missing_ok=True)
            self.folder.write_config(c)
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
        timing = StepTiming(self.step, c.steps)
        pool = ThreadPoolExecutor(1, thread_name_prefix="sketchpad-data")
        pending: Future | None = None
        last_saved = self.step if self.resumed else -1
        try:
            while self.step < c.steps:
                if distributed.any_rank(should_stop(), self.dist, self.gan.device):
                    stopped = True
                    break
                batch = pending.result() if pending else self.data.load_batch(self.step)
                # The next batch loads while this one trains, except in deterministic mode:
                # two threads sharing the intra-op pool can change reduction order.
                pending = None
                if self.step + 1 < c.steps and not c.deterministic:
                    pending = pool.submit(self.data.load_batch, self.step + 1)
                for key, value in self.gan.train_step(*batch).items():
                    window[key] = window.get(key, 0.0) + value
                window_steps += 1
                timing.stepped(self.step)
                early = self.step - timing.start_step <= events.EARLY_STEPS
                if early or self.step % c.log_every == 0 or self.step == c.steps:
                    elapsed = time.perf_counter() - window_start
                    ips = window_steps * c.batch * self.dist.world_size / max(elapsed, 1e-9)
                    eta = timing.seconds_left(self.step)
                    avg = {k: v / window_steps for k, v in window.items()}
                    event = events.make(
                        "step",
                        step=self.step,
                        total_steps=c.steps,
                        epoch=self.data.epoch_of(self.step - 1),
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
        canvas = self.canvas.read(self.log)
        items = self.fixed + ([canvas] if canvas is not None else [])
        grid = sample_grid(self.gan.export_generator(), items, self.gan.precision)
        with writing(str(path), self._kept):
            path.parent.mkdir(parents=True, exist_ok=True)
            grid.save(path)
        split = self.val_set.split
        self.emit(
            events.make(
                "sample", step=self.step, path=str(path), split=split, canvas=canvas is not None
            )
        )

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
    config: TrainConfig | None,
    run_dir: str | Path,
    *,
    init: str | Path | None = None,
    resume: bool = False,
    changes: Changes | Mapping[str, Any] | None = None,
    overwrite: bool = False,
    should_stop: Callable[[], bool] = lambda: False,
    on_event: EventFn | None = None,
) -> Path | None:
    """Prepare and run (`TrainingRun` says what each argument means); returns the exported
    model file, or None when a stop came before training began (nothing is written then: the
    run ends with a `log` event). Errors become an `error` event (and are raised again)."""
    emit = on_event or (lambda event: None)
    info = distributed.from_environment()
    run: TrainingRun | None = None
    try:
        if not info.enabled and should_stop():
            return _stopped_before_start(emit, info)
        run = TrainingRun(
            config,
            run_dir,
            init=init,
            resume=resume,
            changes=changes,
            overwrite=overwrite,
            dist_info=info,
            on_event=emit,
        )
        if distributed.any_rank(should_stop(), info, run.gan.device):
            run.close(discard=True)
            run.flush_held()
            return _stopped_before_start(emit, info)
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
        if run is not None:
            run.close()
        distributed.shutdown(info)


def _stopped_before_start(emit: EventFn, info: distributed.DistInfo) -> None:
    if info.is_main:
        message = "stopped before training began; nothing was saved"
        emit(events.make("log", level="info", message=message))
