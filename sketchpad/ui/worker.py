"""Live generation off the GUI thread.

`InferenceWorker` lives in its own QThread and owns the engine: it loads models, switches
devices, turns canvas snapshots into tensors, runs the engine and builds the result QImage.
`InferenceService` (GUI thread) feeds it with the newest-request-wins rule: at most one job is
in flight; while it runs, each new sketch replaces the one waiting (older ones are dropped,
never queued); when the job ends, the waiting sketch runs next. So the final sketch always
gets its result and the GUI thread never runs the model.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QObject, QThread, Signal, Slot
from PySide6.QtGui import QImage

from sketchpad.engine import Request, Result
from sketchpad.errors import ConnectionLost, SketchpadError
from sketchpad.ui.pictures import qimage_to_tensor, rgb_to_qimage
from sketchpad.ui.remote_link import RemoteFactory, RemoteLink, close_engine, default_remote_factory
from sketchpad.verdicts import Branch


class EngineLike(Protocol):
    """What the worker needs of an engine (the real `sketchpad.engine.Engine`, or a fake).
    An engine with no `branches` (the discriminator's maps) offers no verdict overlay; one with
    no `attention_levels`, no attention probe."""

    name: str
    resolution: int
    takes_noise: bool
    has_discriminator: bool
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
    """One generation request as the GUI sends it: a snapshot of the canvas."""

    job_id: int
    sketch: QImage
    want_verdicts: bool = False
    probe: tuple[float, float] | None = None
    seed: int | None = None


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
    device_text: str
    fallback_reason: str | None
    branches: tuple[Branch, ...] = ()
    """The discriminator's output maps, in the order of `Result.verdicts` (for overlays)."""
    attention_levels: tuple[int, ...] = ()
    """Generator levels with self-attention (level l works at resolution / 2^l)."""
    remote: str = ""
    """The server's URL when a remote generator runs the model ("" when it runs here)."""


class InferenceWorker(QObject):
    """Runs in the inference thread; talk to it only through queued signals."""

    frameReady = Signal(object)  # Frame
    jobFailed = Signal(int, str)  # job id, message
    modelLoaded = Signal(object)  # ModelInfo
    modelFailed = Signal(str, str)  # path, message
    deviceChanged = Signal(str, str)  # device in words, fallback reason ("" when none)

    remoteFailed = Signal(str, str)  # URL, why it could not connect
    remoteLost = Signal(str, str)  # URL, why (the local model runs again)
    remoteBack = Signal(str)  # URL: reachable again; `connect_remote` switches to it

    def __init__(
        self,
        engine_factory: EngineFactory,
        device: str,
        remote_factory: RemoteFactory = default_remote_factory,
    ) -> None:
        super().__init__()
        self._factory = engine_factory
        self._remote_factory = remote_factory
        self._device = device
        self._engine: EngineLike | None = None
        self._path = ""
        self._local: tuple[EngineLike, str] | None = None  # kept while a remote one runs
        self._link = RemoteLink(remote_factory, self)
        self._link.back.connect(self.remoteBack)

    @Slot(object)
    def run_job(self, job: Job) -> None:
        """Run one job. It ends in `frameReady` or `jobFailed`, whatever goes wrong (out of
        memory included), so the service is never left waiting and the next job runs."""
        engine = self._engine
        if engine is None:
            self.jobFailed.emit(job.job_id, "no model is loaded")
            return
        start = time.perf_counter()
        try:
            sketch = qimage_to_tensor(job.sketch, engine.resolution)
            request = Request(job.job_id, sketch, job.want_verdicts, job.probe, job.seed)
            try:
                result = engine.run(request)
            except ConnectionLost as exc:
                engine = self._fall_back(str(exc))
                if engine is None:
                    raise
                sketch = qimage_to_tensor(job.sketch, engine.resolution)
                result = engine.run(
                    Request(job.job_id, sketch, job.want_verdicts, job.probe, job.seed)
                )
            image = rgb_to_qimage(result.image)
            ms = (time.perf_counter() - start) * 1000.0
            frame = Frame(job, result, image, ms, engine.describe(), engine.fallback_reason)
        except Exception as exc:  # any failure is reported; the thread lives on
            self.jobFailed.emit(job.job_id, f"generation failed: {failure_text(exc)}")
            return
        self.frameReady.emit(frame)

    @Slot(str)
    def load_model(self, path: str) -> None:
        """Load a model; on failure (any, out of memory included) the current one stays and
        `modelFailed` says why."""
        try:
            engine = self._factory(path, self._device)
            info = self._info(engine, path)
        except Exception as exc:  # reported; the current model stays
            self.modelFailed.emit(path, failure_text(exc))
            return
        if self._local is not None:  # a remote engine ran: a model file replaces it
            close_engine(self._engine)
            self._local = None
        self._link.forget()
        self._engine, self._path = engine, path
        self.modelLoaded.emit(info)

    # -- the remote generator --------------------------------------------------------------

    @Slot(str, str)
    def connect_remote(self, url: str, token: str) -> None:
        """Run the model on a server from now on; on failure the current engine stays and
        `remoteFailed` says why."""
        try:
            engine = self._link.connect(url, token)
            info = self._info(engine, url, remote=url)
        except Exception as exc:  # reported; the current engine stays
            self.remoteFailed.emit(url, failure_text(exc))
            return
        if self._local is None:
            self._local = (self._engine, self._path) if self._engine is not None else None
        else:
            close_engine(self._engine)  # the previous server's
        self._engine, self._path = engine, url
        self.modelLoaded.emit(info)

    @Slot()
    def use_local(self) -> None:
        """Back to the local model: the connection is closed, and no more reconnecting."""
        if self._local is not None:
            close_engine(self._engine)
            self._restore_local()
        self._link.forget()

    def _fall_back(self, why: str) -> EngineLike | None:
        """The connection dropped: the local model runs again while the server is tried in
        the background. Returns the local engine (None without one)."""
        if self._link.url is None:
            return None
        close_engine(self._engine)
        local = self._restore_local()
        self.remoteLost.emit(self._link.url, why)
        self._link.reconnect_later()
        return local

    def _restore_local(self) -> EngineLike | None:
        if self._local is None:
            self._engine, self._path = None, ""
            return None
        (self._engine, self._path), self._local = self._local, None
        self.modelLoaded.emit(self._info(self._engine, self._path))
        return self._engine

    @Slot(str)
    def set_device(self, name: str) -> None:
        self._device = name
        if self._engine is None:
            return
        try:
            reason = self._engine.set_device(name)
        except Exception as exc:  # reported as the reason it did not switch
            reason = failure_text(exc)
        try:
            text = self._engine.describe()
        except Exception as exc:
            text, reason = name.upper(), reason or failure_text(exc)
        self.deviceChanged.emit(text, reason or "")

    @staticmethod
    def _info(e: EngineLike, path: str, remote: str = "") -> ModelInfo:
        return ModelInfo(
            path,
            e.name,
            e.resolution,
            e.takes_noise,
            e.has_discriminator,
            e.describe(),
            e.fallback_reason,
            tuple(e.branches),
            tuple(e.attention_levels),
            remote,
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


class InferenceService(QObject):
    """The GUI side: owns the worker thread and schedules jobs newest-first."""

    frameReady = Signal(object)  # Frame
    jobFailed = Signal(int, str)
    modelLoaded = Signal(object)  # ModelInfo
    modelFailed = Signal(str, str)
    deviceChanged = Signal(str, str)

    remoteFailed = Signal(str, str)  # URL, why
    remoteLost = Signal(str, str)  # URL, why; the local model runs again
    remoteBack = Signal(str)  # URL reachable again; `connect_remote` switches back

    _runJob = Signal(object)
    _loadModel = Signal(str)
    _setDevice = Signal(str)
    _connectRemote = Signal(str, str)
    _useLocal = Signal()

    def __init__(
        self,
        engine_factory: EngineFactory = default_engine_factory,
        device: str = "auto",
        parent: QObject | None = None,
        remote_factory: RemoteFactory = default_remote_factory,
    ) -> None:
        super().__init__(parent)
        self._thread = QThread()
        self._thread.setObjectName("sketchpad-inference")
        self._worker = InferenceWorker(engine_factory, device, remote_factory)
        self._worker.moveToThread(self._thread)
        self._runJob.connect(self._worker.run_job)
        self._loadModel.connect(self._worker.load_model)
        self._setDevice.connect(self._worker.set_device)
        self._worker.frameReady.connect(self._on_frame)
        self._worker.jobFailed.connect(self._on_failed)
        self._worker.modelLoaded.connect(self._on_model)
        self._worker.modelFailed.connect(self.modelFailed)
        self._worker.deviceChanged.connect(self.deviceChanged)
        self._connectRemote.connect(self._worker.connect_remote)
        self._useLocal.connect(self._worker.use_local)
        self._worker.remoteFailed.connect(self.remoteFailed)
        self._worker.remoteLost.connect(self.remoteLost)
        self._worker.remoteBack.connect(self.remoteBack)
        self._thread.finished.connect(self._worker.deleteLater)
        self._thread.start()
        self._next_id = 0
        self._pending: Job | None = None
        self._in_flight: Job | None = None
        self._has_model = False

    # -- requests ----------------------------------------------------------------------------

    def submit(
        self,
        sketch: QImage,
        *,
        want_verdicts: bool = False,
        probe: tuple[float, float] | None = None,
        seed: int | None = None,
    ) -> int:
        """Ask for a picture of `sketch` (a snapshot). It replaces any sketch still waiting."""
        self._next_id += 1
        self._pending = Job(self._next_id, sketch, want_verdicts, probe, seed)
        self._dispatch()
        return self._next_id

    @property
    def busy(self) -> bool:
        return self._in_flight is not None

    @property
    def last_job_id(self) -> int:
        return self._next_id

    def load_model(self, path: str | Path) -> None:
        self._loadModel.emit(str(path))

    def set_device(self, name: str) -> None:
        self._setDevice.emit(name)

    def connect_remote(self, url: str, token: str) -> None:
        """Run the model on `sketchpad serve` at `url` (`modelLoaded` or `remoteFailed`)."""
        self._connectRemote.emit(url, token)

    def use_local(self) -> None:
        self._useLocal.emit()

    def shutdown(self) -> None:
        """Stop the thread after the job in flight (if any) ends."""
        if self._thread.isRunning():
            self._pending = None
            self._thread.quit()
            self._thread.wait()

    # -- plumbing ----------------------------------------------------------------------------

    def _dispatch(self) -> None:
        if self._in_flight is not None or self._pending is None or not self._has_model:
            return
        self._in_flight, self._pending = self._pending, None
        self._runJob.emit(self._in_flight)

    def _on_frame(self, frame: Frame) -> None:
        self._in_flight = None
        self.frameReady.emit(frame)
        self._dispatch()

    def _on_failed(self, job_id: int, message: str) -> None:
        self._in_flight = None
        self.jobFailed.emit(job_id, message)
        self._dispatch()

    def _on_model(self, info: ModelInfo) -> None:
        self._has_model = True
        self.modelLoaded.emit(info)
        self._dispatch()
