"""The main window's side of generation (a part of `MainWindow`): what it asks the engine for
(the sketch with its hints, the seed, what the overlays need) and what it does with each
picture that comes back."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtGui import QImage

if TYPE_CHECKING:
    from PySide6.QtCore import SignalInstance
    from PySide6.QtWidgets import QLabel

    from sketchpad.ui.canvas import SketchCanvas
    from sketchpad.ui.document import SketchDocument
    from sketchpad.ui.draw_tab import DrawTab
    from sketchpad.ui.jobs import Frame, ModelInfo
    from sketchpad.ui.remote_dialog import RemoteControls
    from sketchpad.ui.result_view import ResultView
    from sketchpad.ui.settings import AppSettings
    from sketchpad.ui.status_bar import StatusBar
    from sketchpad.ui.variations import Variations
    from sketchpad.ui.worker import InferenceService


REST_MS = 250
"""The pen held still this long mid-stroke makes the sketch final (its full picture is made)."""

IGNORED_HINTS_NOTE = (
    "This model has no colour-hint inputs: the hints are kept on their layer but not used"
)


class LiveGeneration:
    """Mixed into `MainWindow`, which makes every attribute below."""

    model: ModelInfo | None
    last_frame: Frame | None
    service: InferenceService
    canvas: SketchCanvas
    document: SketchDocument
    draw_tab: DrawTab
    result_view: ResultView
    variations: Variations
    settings: AppSettings
    status: StatusBar
    remote: RemoteControls
    _seed: int
    """The noise seed of the picture (a variation's, once one is clicked)."""
    want_verdicts: bool
    """Ask the engine for the discriminator's verdicts with every picture (for overlays)."""
    probe: tuple[float, float] | None
    """(y, x) image fractions where the attention is probed with every picture, or None."""
    _hints_noted: bool
    """The status bar said that this model ignores the sketch's hints (once per model)."""
    _rest_timer: QTimer
    """Single-shot, `REST_MS`: a preview mid-stroke starts it; `_on_pen_rested` on timeout."""

    if TYPE_CHECKING:  # the window's own
        frameShown: SignalInstance
        device_label: QLabel

        def show_status(self, text: str, timeout_ms: int = 0) -> None: ...
        def _device_ran(self, fell_back: bool) -> None: ...

    # -- generation --------------------------------------------------------------------------

    def generate(self, final: bool | None = None) -> int | None:
        """Ask for a picture of the current sketch (whatever the Live switch says). It is
        final (cuts stale work short; the full picture follows the preview) unless a stroke
        is being drawn; the pen resting mid-stroke makes it final too."""
        if self.model is None:
            return None
        if final is None:
            final = not self.canvas.is_drawing
        if final:
            self._rest_timer.stop()
        else:
            self._rest_timer.start()
        return self.service.submit(
            self.canvas.image(),
            want_verdicts=self.want_verdicts,
            probe=self.probe,
            seed=self._seed,
            hints=self.hints_to_send(),
            final=final,
        )

    def _on_pen_rested(self) -> None:
        if self.canvas.is_drawing and self.draw_tab.live:
            self.generate(final=True)

    def hints_to_send(self) -> QImage | None:
        """The hint layer for the model, or None: a model without hint inputs, hints hidden
        (to compare without them) or none drawn."""
        c = self.canvas
        wanted = self.model is not None and self.model.takes_hints
        return c.hints_image() if wanted and c.hints_shown and c.has_hints() else None

    def new_variation(self) -> None:
        """New variations (Ctrl+R, the dice, New variations): the seed in use first, framed,
        then three new seeds."""
        self.variations.reroll(keep=self._seed)

    def keep_seed(self, seed: int) -> None:
        """A variation was clicked: its seed makes the picture from now on."""
        self._seed = seed
        self.show_status(f"Keeping the variation of seed {seed}", 4000)
        self.document.seed_changed()
        self.generate()

    def picture_seed(self) -> int:
        """The seed of the picture, which the sketch's file and autosave keep."""
        return self._seed

    def restore_seed(self, seed: int) -> None:
        """An opened or restored sketch kept this seed: the picture and the strip's first
        thumbnail use it again."""
        self._seed = seed
        self.variations.reroll(keep=seed)

    def hints_ignored(self) -> bool:
        """The sketch shows hints that the model cannot take."""
        c = self.canvas
        ignoring = self.model is not None and not self.model.takes_hints
        return ignoring and c.hints_shown and c.has_hints()

    def note_ignored_hints(self) -> None:
        """Say once per model that it ignores the hints shown (after what the status bar
        says now: "Restored the autosaved sketch", "Model … loaded")."""
        if not self._hints_noted and self.hints_ignored():
            self._hints_noted = True
            self.status.add_message(IGNORED_HINTS_NOTE, 12000)

    def _on_sketch_changed(self) -> None:
        self.status.set_idle_text("")  # the first-run tip has done its job
        if not self._hints_noted and self.hints_ignored():  # an opened or restored sketch
            QTimer.singleShot(0, self.note_ignored_hints)  # after the document's own line
        if self.draw_tab.live:
            self.generate()

    def _on_live_toggled(self, on: bool) -> None:
        self.settings.live = on
        if on:
            self.generate()

    def _on_overlay_request(self, want_verdicts: bool, probe: tuple[float, float] | None) -> None:
        """An overlay was switched or the probe point moved: ask for what it needs (the
        verdicts come in the same run as the picture; none are computed while it is off)."""
        needs_more = (want_verdicts and not self.want_verdicts) or (
            probe is not None and probe != self.probe
        )
        self.want_verdicts, self.probe = want_verdicts, probe
        if needs_more:
            self.generate()

    def _show_overlay_status(self, text: str) -> None:
        if text:
            self.show_status(text)
        else:
            self.status.clearMessage()

    def _on_frame(self, frame: Frame) -> None:
        self.last_frame = frame
        if frame.job.job_id == self.service.last_job_id:  # the newest sketch's picture
            self.variations.picture_shown(frame)
        self.result_view.set_image(frame.image)
        result = frame.result
        self.draw_tab.show_overlay_result(result.verdicts, result.attention, frame.job.probe)
        self.status.show_frame(frame)
        if self.remote.active:  # "Remote: host, GPU, N ms round trip"
            self.device_label.setText(frame.device_text)
        if frame.fallback_reason:  # the device failed while running (CUDA out of memory)
            self._device_ran(True)
        self.frameShown.emit(frame)
