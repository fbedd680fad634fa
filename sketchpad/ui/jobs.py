"""What crosses the inference thread's boundary: the engine it needs (`EngineLike`), the
GUI's request (`Job`: a snapshot of the canvas), what comes back (`Frame`, `ModelInfo`), how a
job becomes the engine's `Request`, and failures in words."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from PySide6.QtGui import QImage

from sketchpad.data.hints import hints_from_rgba
from sketchpad.engine import Request, Result
from sketchpad.errors import SketchpadError
from sketchpad.ui.pictures import qimage_to_array, qimage_to_tensor
from sketchpad.verdicts import Branch


class EngineLike(Protocol):
    """What the worker needs of an engine (the real `sketchpad.engine.Engine`, or a fake).
    An engine with no `branches` (the discriminator's maps) offers no verdict overlay; one with
    no `attention_levels`, no attention probe."""

    name: str
    resolution: int
    takes_noise: bool
    has_discriminator: bool
    # takes_hints: bool, optional (an engine without it takes no colour hints)
    fallback_reason: str | None
    branches: Sequence[Branch]
    attention_levels: Sequence[int]

    def run(self, request: Request) -> Result: ...
    def set_device(self, name: str) -> str | None: ...
    def describe(self) -> str: ...


EngineFactory = Callable[[str, str], EngineLike]
"""(model path, device name) -> engine; raises SketchpadError when the model cannot be used."""


def default_engine_factory(path: str, device: str) -> EngineLike:
    from sketchpad.checkpoint import load_model
    from sketchpad.engine import Engine

    return Engine(load_model(path), device=device)


@dataclass(frozen=True)
class Job:
    """One generation request as the GUI sends it: a snapshot of the canvas, its ink and its
    colour hints (the ARGB hint layer; None: none sent) taken together."""

    job_id: int
    sketch: QImage
    want_verdicts: bool = False
    probe: tuple[float, float] | None = None
    seed: int | None = None
    hints: QImage | None = None
    variation: int | None = None
    """The thumbnail of the variations strip this job is for (None: the main picture)."""
    final: bool = False
    """The sketch at rest or at a stroke's end: stale work in flight is cut short for it, and
    a model with high-resolution levels paints the full picture too (after the preview)."""
    frame: bool = False
    """Fit a small drawing to the model's frame (`sketchpad.framing`)."""


@dataclass(frozen=True)
class Frame:
    """One generation as the GUI receives it: the engine's result and its picture."""

    job: Job
    result: Result
    image: QImage
    milliseconds: float  # in the worker, snapshot conversion included
    device_text: str
    fallback_reason: str | None


@dataclass(frozen=True)
class ModelInfo:
    path: str
    name: str
    resolution: int
    takes_noise: bool
    has_discriminator: bool
    # takes_hints: bool, optional (an engine without it takes no colour hints)
    device_text: str
    fallback_reason: str | None
    branches: tuple[Branch, ...] = ()
    """The discriminator's output maps, in the order of `Result.verdicts` (for overlays)."""
    attention_levels: tuple[int, ...] = ()
    """Generator levels with self-attention (level l works at resolution / 2^l)."""
    remote: str = ""
    """The server's URL when a remote generator runs the model ("" when it runs here)."""
    takes_hints: bool = False
    """The model has colour-hint inputs (the Colour tool is offered)."""
    output_resolution: int = 0
    """Side of the full picture (0: the trunk's `resolution`, no high-resolution levels)."""

    @property
    def picture_side(self) -> int:
        """Side of the picture it paints at rest (what Export writes)."""
        return self.output_resolution or self.resolution


def full_side(engine: EngineLike) -> int:
    """The engine's full-picture side; its resolution when it has no high-resolution levels
    (or is a remote or fake engine that does not say)."""
    return int(getattr(engine, "output_resolution", engine.resolution))


def job_request(job: Job, engine: EngineLike, full: bool = False) -> Request:
    """The engine's request for a job: the ink at the engine's resolution, and the hints
    (`sketchpad.data.hints.hints_from_rgba`) when the engine takes them; `full`: also the ink
    (and hints at) the output resolution, for the full picture of a final job."""
    sketch = qimage_to_tensor(job.sketch, engine.resolution)
    side = full_side(engine)
    full = full and side != engine.resolution
    hints = None
    if job.hints is not None and getattr(engine, "takes_hints", False):
        hints = hints_from_rgba(qimage_to_array(job.hints), side if full else engine.resolution)
    return Request(
        job.job_id,
        sketch,
        want_verdicts=job.want_verdicts,
        probe=job.probe,
        seed=job.seed,
        hints=hints,
        full_sketch=qimage_to_tensor(job.sketch, side) if full else None,
        frame=job.frame,
    )


def failure_text(exc: BaseException) -> str:
    """A failure in words for the status bar or a dialog: the project's own errors say what to
    do; others get their kind (out of memory said plainly) and their first line."""
    if isinstance(exc, SketchpadError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "out of memory; close other programs or open a smaller model"
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
