"""Live generation off the GUI thread.

`InferenceWorker` lives in its own QThread and owns the engine: it loads models, switches
devices, turns canvas snapshots into tensors, runs the engine and builds the result QImage.
`InferenceService` (GUI thread) feeds it with the newest-request-wins rule: at most one job is
in flight; while it runs, each new sketch replaces the one waiting (older ones are dropped,
never queued); when the job ends, the waiting sketch runs next. So the final sketch always
gets its result and the GUI thread never runs the model.

A final sketch (the pen at rest, a stroke's end) cuts short the stale picture in flight: the
worker checks between the generator's units whether a final sketch newer than its job
waits, and drops its job if so. For a model with high-resolution levels, a final sketch's
job shows the preview first, then paints the full picture on the trunk's kept features; any
newer sketch drops that second step.

Variation thumbnails are a second, lower lane: they run one job at a time, only while no
picture of the sketch waits, and a new sketch drops those not started; so they never hold
the live picture back by more than one thumbnail.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot
from PySide6.QtGui import QImage

from sketchpad.engine import Request, Result, Stale
from sketchpad.errors import ConnectionLost
from sketchpad.ui.jobs import (
    EngineFactory,
    EngineLike,
    Frame,
    Job,
    ModelInfo,
    default_engine_factory,
    failure_text,
    full_side,
    job_request,
)
from sketchpad.ui.pictures import rgb_to_qimage
from sketchpad.ui.remote_link import RemoteFactory, RemoteLink, close_engine, default_remote_factory


class Newest:
    """The newest job ids the GUI thread has asked for, read by the worker between the
    generator's units (plain ints: one writer, one reader)."""

    def __init__(self) -> None:
        self.picture = 0  # the newest picture of the sketch (thumbnails aside)
        self.final = 0  # the newest final sketch


class InferenceWorker(QObject):
    """Runs in the inference thread; talk to it only through queued signals."""

    frameReady = Signal(object)  # Frame: the job is done
    previewReady = Signal(object)  # Frame: a final job's preview, its full picture to come
    jobFailed = Signal(int, str)  # job id, message
    jobDropped = Signal(int)  # job id: a newer sketch made it stale
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
        self.newest = Newest()

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
            try:
                request = job_request(job, engine)
                result = self._run(engine, request, self._stale_if_final_waits(job))
            except ConnectionLost as exc:
                engine = self._fall_back(str(exc))
                if engine is None:
                    raise
                request = job_request(job, engine)
                result = self._run(engine, request, None)
            frame = self._frame(job, result, start, engine)
            if job.final and full_side(engine) != engine.resolution and not result.full:
                self.previewReady.emit(frame)
                start = time.perf_counter()
                request = job_request(job, engine, full=True)
                full = engine.run_full(request, self._stale_if_newer(job))
                timings = {**result.timings, "highres": full.timings["highres"]}
                result = replace(result, image=full.image, full=True, timings=timings)
                frame = self._frame(job, result, start, engine)
        except Stale:
            self.jobDropped.emit(job.job_id)
            return
        except Exception as exc:  # any failure is reported; the thread lives on
            self.jobFailed.emit(job.job_id, f"generation failed: {failure_text(exc)}")
            return
        self.frameReady.emit(frame)

    @staticmethod
    def _run(engine: EngineLike, request: Request, between) -> Result:
        if getattr(engine, "accepts_between", False):
            return engine.run(request, between)  # type: ignore[call-arg]
        return engine.run(request)

    @staticmethod
    def _frame(job: Job, result: Result, start: float, engine: EngineLike) -> Frame:
        image = rgb_to_qimage(result.image)
        ms = (time.perf_counter() - start) * 1000.0
        return Frame(job, result, image, ms, engine.describe(), engine.fallback_reason)

    def _stale_if_final_waits(self, job: Job):
        """While a picture is made: stop if a newer final sketch waits (thumbnails run on)."""
        if job.variation is not None:
            return None
        newest = self.newest

        def check() -> None:
            if newest.final > job.job_id:
                raise Stale()

        return check

    def _stale_if_newer(self, job: Job):
        """While the full picture is painted: stop if any newer sketch waits."""
        newest = self.newest

        def check() -> None:
            if newest.picture > job.job_id:
                raise Stale()

        return check

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
            bool(getattr(e, "takes_hints", False)),
            full_side(e),
        )


class InferenceService(QObject):
    """The GUI side: owns the worker thread and schedules jobs newest-first, the pictures of
    the sketch before the variation thumbnails."""

    frameReady = Signal(object)  # Frame
    jobFailed = Signal(int, str)
    variationReady = Signal(object)  # Frame of a variation thumbnail (`job.variation` set)
    variationFailed = Signal(int, str)  # thumbnail index, message
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
        self._worker.previewReady.connect(self.frameReady)
        self._worker.jobFailed.connect(self._on_failed)
        self._worker.jobDropped.connect(self._on_dropped)
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
        self._last_id = 0
        self._pending: Job | None = None
        self._variations: list[Job] = []
        self._in_flight: Job | None = None
        self._has_model = False
        self.fit_to_frame = False
        """Every job from now on fits a small drawing to the model's frame (the window sets
        it from Model ▸ Fit small drawings)."""

    # -- requests ----------------------------------------------------------------------------

    def submit(
        self,
        sketch: QImage,
        *,
        want_verdicts: bool = False,
        probe: tuple[float, float] | None = None,
        seed: int | None = None,
        hints: QImage | None = None,
        final: bool = False,
    ) -> int:
        """Ask for a picture of `sketch` and `hints` (snapshots). It replaces any sketch still
        waiting. `final`: the sketch at rest or at a stroke's end (see the module's docstring)."""
        self._next_id += 1
        self._last_id = self._next_id
        newest = self._worker.newest
        newest.picture = self._next_id
        if final:
            newest.final = self._next_id
        self._pending = Job(
            self._next_id,
            sketch,
            want_verdicts,
            probe,
            seed,
            hints,
            final=final,
            frame=self.fit_to_frame,
        )
        self._dispatch()
        return self._next_id

    def submit_variations(
        self, sketch: QImage, hints: QImage | None, seeds: Sequence[int]
    ) -> list[Job]:
        """Ask for one thumbnail per seed of `sketch` and `hints`, in the lower lane (they
        replace the thumbnails not started yet)."""
        jobs = []
        for index, seed in enumerate(seeds):
            self._next_id += 1
            jobs.append(
                Job(
                    self._next_id,
                    sketch,
                    seed=seed,
                    hints=hints,
                    variation=index,
                    frame=self.fit_to_frame,
                )
            )
        self._variations = list(jobs)
        self._dispatch()
        return list(jobs)

    def cancel_variations(self) -> None:
        """Drop the thumbnails not started (the sketch changed)."""
        self._variations = []

    @property
    def busy(self) -> bool:
        return self._in_flight is not None

    @property
    def variations_waiting(self) -> int:
        return len(self._variations)

    @property
    def last_job_id(self) -> int:
        """The id of the last picture of the sketch asked for (thumbnails aside)."""
        return self._last_id

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
            self._pending, self._variations = None, []
            self._thread.quit()
            self._thread.wait()

    # -- plumbing ----------------------------------------------------------------------------

    def _dispatch(self) -> None:
        if self._in_flight is not None or not self._has_model:
            return
        if self._pending is not None:
            self._in_flight, self._pending = self._pending, None
        elif self._variations:
            self._in_flight = self._variations.pop(0)
        else:
            return
        self._runJob.emit(self._in_flight)

    def _on_frame(self, frame: Frame) -> None:
        self._in_flight = None
        if frame.job.variation is not None:
            self.variationReady.emit(frame)
        else:
            self.frameReady.emit(frame)
        self._dispatch()

    def _on_failed(self, job_id: int, message: str) -> None:
        job, self._in_flight = self._in_flight, None
        if job is not None and job.variation is not None:
            self.variationFailed.emit(job.variation, message)
        else:
            self.jobFailed.emit(job_id, message)
        self._dispatch()

    def _on_dropped(self, _job_id: int) -> None:
        self._in_flight = None
        self._dispatch()

    def _on_model(self, info: ModelInfo) -> None:
        self._has_model = True
        self.modelLoaded.emit(info)
        self._dispatch()
