"""The inference engine: one sketch in, one generated image (and, on request, the
discriminator's verdicts and an attention probe) out.

The engine keeps the loaded fp32 networks as masters and runs copies prepared for the chosen
device: on a CPU with bf16 units the copies hold bfloat16 weights in channels_last layout and
take bf16 input (faster than autocast, which re-casts the weights on every call); on CUDA they
run in fp16/bf16; `precision="fp32"` runs plain float32 everywhere. The generator copies
have their BatchNorms folded into the convolutions before them. It is not thread-safe: one
thread (the app's inference worker) owns it.

A model with high-resolution levels paints in two steps: `run` gives the trunk's picture (the
live preview) and keeps the trunk's features; `run_full` then paints the full picture on them
without recomputing the trunk. A `between` callback, called between the generator's units,
may raise `Stale` to abandon a request that a newer one replaced.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar

import numpy as np
import torch
from torch import nn

from models import Trunk, fold_batchnorm, receptive_fields
from sketchpad.checkpoint import LoadedModel
from sketchpad.data.hints import fit_hints
from sketchpad.devices import (
    Precision,
    choose_precision,
    describe_device,
    flush_denormals,
    resolve_device,
)
from sketchpad.errors import DeviceError
from sketchpad.framing import Frame, crop_hints, fit, frame_ink, paste, paste_each, paste_weights
from sketchpad.sketch import tensor_to_rgb
from sketchpad.verdicts import Branch

Verdicts = list[tuple[str, np.ndarray]]
Between = Callable[[], None] | None


class Stale(Exception):  # noqa: N818 (it is a signal, not an error)
    """Raised by a `between` callback: a newer request replaced this one, stop working on it."""


T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Request:
    """One generation. `sketch` is a (1, R, R) ink snapshot (1 = ink, 0 = paper) that nobody
    changes afterwards. `probe` = (y, x) image fractions asks for the attention weights there;
    `seed` fixes the noise of a model that takes noise (None: fresh noise). `hints` is a
    (4, H, W) colour-hint snapshot (`sketchpad.data.hints.hint_input`: colour × mask in
    [-1, 1], then the mask), any square size; None, or a model without hint inputs: no hint."""

    request_id: int
    sketch: torch.Tensor
    want_verdicts: bool = False
    probe: tuple[float, float] | None = None
    seed: int | None = None
    hints: torch.Tensor | None = None
    full_sketch: torch.Tensor | None = None
    """The ink at the model's output resolution (1, R_out, R_out), for the full picture of a
    model with high-resolution levels (None: the preview only)."""
    frame: bool = False
    """Fit a small drawing to the model's frame (`sketchpad.framing`): the model paints it
    enlarged and centred, and the picture is put back where it was drawn."""


@dataclass
class Result:
    """What one request gave. `image` is uint8 (R, R, 3); `verdicts` pairs each discriminator
    branch's label with its (h, w) float32 map of probabilities that the patch looks real;
    `attention` maps a generator level to its (H_l, W_l) weights (they sum to 1); `timings`
    holds milliseconds ("generator", "discriminator" when run, "highres" for the levels of a
    full picture, "total"). `full` says the image is the full picture (at the output
    resolution); a preview is at the trunk's."""

    request_id: int
    image: np.ndarray
    verdicts: Verdicts | None = None
    attention: dict[int, np.ndarray] | None = None
    timings: dict[str, float] = field(default_factory=dict)
    full: bool = False
    frame: Frame | None = None
    """The frame the model painted in (a request with `frame`, a small drawing), else None."""


def _runtime_copy(module: nn.Module, precision: Precision, fold: bool = False) -> nn.Module:
    """A copy of `module` on the device, in the dtype and memory layout of `precision`, in eval
    mode (`fold`: its MRUs' BatchNorms folded into their convolutions)."""
    out = copy.deepcopy(module).eval()
    if fold:
        fold_batchnorm(out)
    out = out.to(precision.device, precision.dtype)
    if precision.channels_last:
        out = out.to(memory_format=torch.channels_last)
    return out.eval()


class Engine:
    """Runs requests on one loaded model. `device` is "auto", "cpu", "cuda" or "mps";
    `precision` is "auto" (the fast path where the device has one) or "fp32"."""

    accepts_between = True
    """`run` takes a `between` callback (the app's worker passes one to drop stale work)."""

    def __init__(self, model: LoadedModel, device: str = "auto", precision: str = "auto") -> None:
        flush_denormals()
        self.model = model
        self.requested_precision = precision
        self.requested_device = device
        self.fallback_reason: str | None = None
        self.precision: Precision = choose_precision(torch.device("cpu"), precision)
        self._generator: nn.Module | None = None
        self._discriminator: nn.Module | None = None
        self._trunk: tuple[int, Trunk, Frame | None] | None = None
        """The last request's id (one id, one snapshot), trunk output and frame, for
        `run_full`."""
        self.set_device(device)

    # -- device ------------------------------------------------------------------------------

    @property
    def device(self) -> torch.device:
        return self.precision.device

    def set_device(self, name: str) -> str | None:
        """Move the engine to `name`. When that device is absent or fails (CUDA out of memory,
        driver error), fall back to the CPU; returns (and keeps in `fallback_reason`) why, or
        None when `name` worked."""
        self.requested_device = name
        try:
            device = resolve_device(name)
        except DeviceError as exc:
            reason = str(exc)
        else:
            try:
                self._prepare(device)
                self.fallback_reason = None
                return None
            except RuntimeError as exc:  # torch.cuda.OutOfMemoryError is one
                if device.type == "cpu":
                    raise
                reason = _first_line(exc)
        self._prepare(torch.device("cpu"))
        self.fallback_reason = f"{name.upper()} is not usable ({reason}); using the CPU"
        return self.fallback_reason

    def _prepare(self, device: torch.device) -> None:
        precision = choose_precision(device, self.requested_precision)
        old = self._generator
        self._generator = self._discriminator = None  # free device memory before copying
        try:
            generator = _runtime_copy(self.model.generator, precision, fold=True)
            if device.type != "cpu":
                self._warm_up(generator, precision)  # fail here, not in the first run()
        except BaseException:
            self._generator = old
            raise
        self.precision = precision
        self._trunk = None
        self._generator = generator  # the discriminator copy is made on the first verdict request
        if device.type != "cuda" and torch.cuda.is_available():
            torch.cuda.empty_cache()

    def _warm_up(self, generator: nn.Module, precision: Precision) -> None:
        r = self.model.resolution
        sketch = torch.zeros(1, self.model.generator_config.in_channels, r, r)
        with torch.inference_mode():
            generator(
                self._to_device(sketch, precision),
                self._noise(1, None, precision),
                self._hints([None], precision),
            )

    def describe(self) -> str:
        """The device in words for the status bar, e.g. "CPU, 2 threads, bf16"."""
        return describe_device(self.device, self.precision)

    # -- running -----------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def resolution(self) -> int:
        return self.model.resolution

    @property
    def output_resolution(self) -> int:
        """Side of the full picture (the trunk's resolution for a model without
        high-resolution levels)."""
        return self.model.generator_config.output_resolution

    @property
    def has_highres(self) -> bool:
        return self.output_resolution != self.resolution

    @property
    def takes_noise(self) -> bool:
        return self.model.takes_noise

    @property
    def takes_hints(self) -> bool:
        return self.model.takes_hints

    @property
    def has_discriminator(self) -> bool:
        return self.model.discriminator is not None

    @property
    def branches(self) -> list[Branch]:
        """The discriminator's output maps in the order of `Result.verdicts`: label and
        receptive field on the model-resolution image (empty without a discriminator)."""
        d = self.model.discriminator
        if d is None:
            return []
        r = self.model.resolution
        fields = receptive_fields(d, r)
        return [Branch(n, f) for n, f in zip(d.branch_names(r), fields, strict=True)]

    @property
    def attention_levels(self) -> tuple[int, ...]:
        """Generator levels with self-attention (level l works at resolution / 2^l); a probe
        returns weights for each."""
        return tuple(sorted(self.model.generator_config.attention_levels))

    def run(self, request: Request, between: Between = None) -> Result:
        """Generate for one request: the trunk's picture, or with `request.full_sketch` (and
        high-resolution levels) the full picture. A CUDA failure (out of memory) moves the
        engine to the CPU (see `fallback_reason`) and runs the request there."""
        return self._on_cpu_if_it_fails(lambda r: self._run(r, between), request)

    def run_full(self, request: Request, between: Between = None) -> Result:
        """The full picture of `request` (its `full_sketch` at the output resolution), on the
        trunk features kept by the last `run` when that was this request; otherwise the trunk
        runs first. Verdicts and attention stay those of the preview."""
        return self._on_cpu_if_it_fails(lambda r: self._run_full(r, between), request)

    def run_batch(self, requests: list[Request]) -> list[Result]:
        """Generate for several requests in one batch (the server's dynamic batching). Each
        request keeps its own seed, so a picture does not depend on its batch-mates. A probe
        request, whose attention is per picture, runs alone. Timings are the batch's."""
        if len(requests) == 1 or any(r.probe is not None for r in requests):
            return [self.run(r) for r in requests]
        return self._on_cpu_if_it_fails(self._run_batch, requests)

    def _on_cpu_if_it_fails(self, run: Callable[[T], R], work: T) -> R:
        try:
            return run(work)
        except RuntimeError as exc:
            if self.device.type == "cpu":
                raise
            self._prepare(torch.device("cpu"))
            self.fallback_reason = (
                f"{self.requested_device.upper()} failed ({_first_line(exc)}); using the CPU"
            )
            return run(work)

    def _run_batch(self, requests: list[Request]) -> list[Result]:
        precision = self.precision
        assert self._generator is not None
        start = time.perf_counter()
        timings: dict[str, float] = {}
        with torch.inference_mode():
            framed = [_fitted(r) for r in requests]
            frames = [f[0] for f in framed]
            sketch = self._to_device(torch.stack([f[1] for f in framed]), precision)
            noise = None
            if self.takes_noise:  # one noise map per request, from its own seed
                noise = torch.cat([self._noise(1, r.seed, precision) for r in requests])
            hints = self._hints([f[2] for f in framed], precision)
            fake = self._generator(sketch, noise, hints)  # (B, 3, R, R)
            if any(f is not None for f in frames):
                fake = paste_each(fake, frames)
                fake = self._to_device(fake, precision)
                sketch = self._to_device(torch.stack([r.sketch for r in requests]), precision)
            images = [tensor_to_rgb(f) for f in fake]
            timings["generator"] = (time.perf_counter() - start) * 1000.0
            verdicts: list[Verdicts | None] = [None] * len(requests)
            wanted = [i for i, r in enumerate(requests) if r.want_verdicts]
            if wanted and self.has_discriminator:
                t = time.perf_counter()
                maps = self._verdicts(sketch[wanted], fake[wanted])
                for i, v in zip(wanted, maps, strict=True):
                    verdicts[i] = v
                timings["discriminator"] = (time.perf_counter() - t) * 1000.0
        timings["total"] = (time.perf_counter() - start) * 1000.0
        return [
            Result(r.request_id, image, v, None, dict(timings), frame=f)
            for r, image, v, f in zip(requests, images, verdicts, frames, strict=True)
        ]

    def _run(self, request: Request, between: Between = None) -> Result:
        precision = self.precision
        assert self._generator is not None
        self._trunk = None
        start = time.perf_counter()
        timings: dict[str, float] = {}
        with torch.inference_mode():
            frame, framed_sketch, framed_hints = _fitted(request)
            sketch = self._to_device(framed_sketch[None], precision)  # (1, 1, R, R)
            noise = self._noise(1, request.seed, precision)
            hints = self._hints([framed_hints], precision)
            probe = request.probe
            if probe is not None and frame is not None:  # outside the frame: no attention
                probe = frame.to_frame(*probe) if frame.contains(*probe) else None
            trunk = self._run_trunk(sketch, noise, probe, hints, between)
            fake = trunk.image
            if frame is not None:  # judged and shown as put back on the canvas
                fake = self._to_device(paste(fake, frame), precision)
                sketch = self._to_device(request.sketch[None], precision)
            image = tensor_to_rgb(fake[0])  # waits for the device
            timings["generator"] = (time.perf_counter() - start) * 1000.0
            verdicts = None
            if request.want_verdicts and self.has_discriminator:
                t = time.perf_counter()
                verdicts = self._verdicts(sketch, fake)[0]
                timings["discriminator"] = (time.perf_counter() - t) * 1000.0
            attention = None
            if probe is not None:
                attention = {
                    level: _weights_back(w[0].float().cpu(), frame).numpy().astype(np.float32)
                    for level, w in trunk.attention.items()
                }
            if self.has_highres:
                self._trunk = (request.request_id, trunk, frame)
        timings["total"] = (time.perf_counter() - start) * 1000.0
        result = Result(request.request_id, image, verdicts, attention, timings, frame=frame)
        if request.full_sketch is not None and self.has_highres:
            full = self._run_full(request, between)
            result.image, result.full = full.image, True
            timings["highres"] = full.timings["highres"]
            timings["total"] = (time.perf_counter() - start) * 1000.0
        return result

    def _run_trunk(self, sketch, noise, probe, hints, between: Between) -> Trunk:
        g = self._generator
        if hasattr(g, "trunk"):
            return g.trunk(sketch, noise, probe, hints, between)
        fake, weights = g.forward_with_attention(sketch, noise, probe, hints=hints)
        return Trunk(fake, fake, fake, weights)  # the U-Net baseline: no levels above it

    def _run_full(self, request: Request, between: Between = None) -> Result:
        if request.full_sketch is None:
            raise ValueError("a full picture needs the sketch at the output resolution")
        kept = self._trunk
        if kept is None or kept[0] != request.request_id:
            preview = self._run(replace(request, full_sketch=None), between)
            if not self.has_highres:
                preview.full = True
                return preview
            kept = self._trunk
        assert kept is not None and self._generator is not None
        precision = self.precision
        start = time.perf_counter()
        r = self.output_resolution
        if tuple(request.full_sketch.shape[-2:]) != (r, r):
            raise ValueError(
                f"the full sketch is {tuple(request.full_sketch.shape)}; the model paints {r} px"
            )
        frame = kept[2]
        with torch.inference_mode():
            full_sketch, full_hints = request.full_sketch[None], request.hints
            if frame is not None:
                full_sketch = frame_ink(full_sketch.float(), frame)
                if full_hints is not None:
                    full_hints = crop_hints(full_hints[None], frame)[0]
            sketch = self._to_device(full_sketch, precision)  # (1, 1, R_out, R_out)
            hints = self._hints([full_hints], precision, r)
            fake = self._generator.full(kept[1], sketch, hints, between)
            if frame is not None:
                fake = paste(fake, frame)
            image = tensor_to_rgb(fake[0])
        ms = (time.perf_counter() - start) * 1000.0
        timings = {"highres": ms, "total": ms}
        return Result(request.request_id, image, timings=timings, full=True, frame=frame)

    def _verdicts(self, sketch: torch.Tensor, fake: torch.Tensor) -> list[Verdicts]:
        """The verdict maps of every picture in the batch."""
        if self._discriminator is None:
            assert self.model.discriminator is not None
            self._discriminator = _runtime_copy(self.model.discriminator, self.precision)
        logits = self._discriminator(sketch, fake)
        names = self._discriminator.branch_names(self.model.resolution)
        probs = [torch.sigmoid(l[:, 0].float()).cpu().numpy() for l in logits]  # (B, h, w) each
        return [
            [(name, p[b]) for name, p in zip(names, probs, strict=True)]
            for b in range(sketch.shape[0])
        ]

    def _to_device(self, x: torch.Tensor, precision: Precision) -> torch.Tensor:
        x = x.to(precision.device, precision.dtype)
        if precision.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        return x

    def _hints(
        self, snapshots: list[torch.Tensor | None], precision: Precision, side: int | None = None
    ) -> torch.Tensor | None:
        """(B, 4, S, S) hint channels at `side` (default: the model's resolution; zeros for a
        request without hints); None for a model without hint inputs."""
        if not self.takes_hints:
            return None
        r = side or self.model.resolution
        hints = torch.stack([fit_hints(h, r) for h in snapshots])
        return self._to_device(hints, precision)

    def _noise(self, batch: int, seed: int | None, precision: Precision) -> torch.Tensor | None:
        """Noise maps for a model that takes them, drawn on the CPU so that one seed gives the
        same picture on every device; None for a model without noise."""
        if not self.takes_noise:
            return None
        shape = self.model.generator.noise_shape(batch)
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        return self._to_device(torch.randn(shape, generator=gen), precision)


def _fitted(request: Request) -> tuple[Frame | None, torch.Tensor, torch.Tensor | None]:
    """(frame, sketch, hints) as the model sees the request: fitted to the frame when it asks
    for it (`sketchpad.framing.fit`), else as they are."""
    if request.frame:
        return fit(request.sketch, request.hints)
    return None, request.sketch, request.hints


def _weights_back(weights: torch.Tensor, frame: Frame | None) -> torch.Tensor:
    return weights if frame is None else paste_weights(weights, frame)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]
