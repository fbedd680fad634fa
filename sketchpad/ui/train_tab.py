"""The Train tab: fine-tune on your own pictures in the background while you keep drawing.

Left: data (with a preview of the pairs as the trainer sees them), starting point, settings.
Right: Start / Stop / Resume and the runs list, progress, live loss curves, the newest sample
grid and the trainer's log. The trainer is a child process (`TrainerProcess`), so a crash or a
bad dataset shows an error here and the app keeps working.

Wiring (the main window does it):

    tab = TrainTab(current_model=lambda: window.model.path if window.model else None)
    tab.use_model_requested.connect(window.open_model)          # "Use in canvas"
    tab.restore_model_requested.connect(lambda p: p and window.open_model(p))  # switch back
    window.add_tab(tab, "Train")
    # in closeEvent, first: if not tab.confirm_close(): event.ignore(); return
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QDesktopServices,
    QFontDatabase,
    QImage,
    QTextDocumentFragment,
)
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from sketchpad.train.loop import METRICS_NAME, MODEL_NAME
from sketchpad.ui import runs
from sketchpad.ui.loss_plot import LossPlot
from sketchpad.ui.train_data import DataPanel, PictureView
from sketchpad.ui.train_process import RunEnd, TrainerProcess
from sketchpad.ui.train_settings import SettingsPanel, StartingPointPanel

LOG_LINES = 5000


def format_duration(seconds: float) -> str:
    """ "45 s", "3 min 05 s", "2 h 07 min"."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, s = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {s:02d} s"
    hours, m = divmod(minutes, 60)
    return f"{hours} h {m:02d} min"


def read_loss_history(run_dir: Path, up_to_step: int) -> list[tuple[int, dict[str, float]]]:
    """(step, losses) from a run's metrics.jsonl, for the curves of a resumed run."""
    records = []
    try:
        lines = (Path(run_dir) / METRICS_NAME).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        step = record.get("step") if isinstance(record, dict) else None
        if not isinstance(step, int) or step > up_to_step or "eval" in record:
            continue
        losses = {
            k: float(v)
            for k, v in record.items()
            if k not in ("step", "images_per_s") and isinstance(v, (int, float))
        }
        records.append((step, losses))
    return records


class TrainTab(QWidget):
    use_model_requested = Signal(str)
    """ "Use in canvas": load this model file (the run's newest export) in the Draw tab. Sent
    again at each new checkpoint while the canvas uses the run's model."""
    restore_model_requested = Signal(str)
    """ "Back to previous model": the model file the canvas had before ("" if none)."""
    runningChanged = Signal(bool)

    def __init__(
        self,
        current_model: Callable[[], str | None] | None = None,
        parent: QWidget | None = None,
        *,
        extra_args: Sequence[str] = (),
        child_env: Mapping[str, str] | None = None,
        attach_running: bool = True,
    ) -> None:
        super().__init__(parent)
        self.extra_args: list[str] = list(extra_args)
        """Flags appended to every trainer command (tests: tiny networks)."""
        self.child_env: dict[str, str] | None = dict(child_env) if child_env else None
        """Environment overrides for the trainer process."""
        self.state = "idle"  # idle, starting, running, stopping
        self.run_dir: Path | None = None
        self.last_end: RunEnd | None = None
        self.model_in_canvas: str | None = None
        self._previous_model: str | None = None
        self._total_steps = 0

        self.process = TrainerProcess(self)
        self.data_panel = DataPanel()
        self.start_panel = StartingPointPanel(current_model)
        self.settings_panel = SettingsPanel()
        self._build()
        self._connect()
        self._on_start_point_changed()
        self.refresh_runs()
        self._update_controls()
        if attach_running:
            self.attach_running_run()

    # -- construction ------------------------------------------------------------------------

    @property
    def current_model_path_provider(self) -> Callable[[], str | None] | None:
        return self.start_panel.current_model_path_provider

    @current_model_path_provider.setter
    def current_model_path_provider(self, provider: Callable[[], str | None] | None) -> None:
        self.start_panel.current_model_path_provider = provider
        self.start_panel.refresh(pick_best=True)

    def _build(self) -> None:
        left = QWidget()
        left_layout = QVBoxLayout(left)
        self.data_group = self._group("Data", self.data_panel)
        self.start_group = self._group("Starting point", self.start_panel)
        self.settings_group = self._group("Settings", self.settings_panel)
        for group in (self.data_group, self.start_group, self.settings_group):
            left_layout.addWidget(group)
        left_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setMinimumWidth(440)
        scroll.setMaximumWidth(520)

        self.start_button = QPushButton("Start")
        self.start_button.setToolTip(
            "Start a new run with the data, model and settings on the left"
        )
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Finish the current step, save, and stop (Resume continues)")
        self.runs_box = QComboBox()
        self.runs_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.runs_box.setMinimumContentsLength(24)
        self.runs_box.setToolTip("Runs in your Sketchpad folder, newest first")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue the chosen run from its newest checkpoint")
        self.folder_button = QToolButton()
        self.folder_button.setText("Folder")
        self.folder_button.setToolTip("Open the run's folder")
        controls = QHBoxLayout()
        controls.addWidget(self.start_button)
        controls.addWidget(self.stop_button)
        controls.addSpacing(16)
        controls.addWidget(QLabel("Run"))
        controls.addWidget(self.runs_box, 1)
        controls.addWidget(self.resume_button)
        controls.addWidget(self.folder_button)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("Not training")
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)

        self.use_button = QPushButton("Use in canvas")
        self.use_button.setToolTip(
            "Draw with this run's newest exported model (it follows new checkpoints)"
        )
        self.back_button = QPushButton("Back to previous model")
        self.canvas_label = QLabel("")
        self.canvas_label.setStyleSheet("color: palette(placeholder-text);")
        use_row = QHBoxLayout()
        use_row.addWidget(self.use_button)
        use_row.addWidget(self.back_button)
        use_row.addWidget(self.canvas_label, 1)

        self.error_frame = QFrame()
        self.error_frame.setObjectName("trainError")
        self.error_frame.setStyleSheet(
            "#trainError { background: #fdecea; border: 1px solid #e6a39b; border-radius: 4px; }"
            "#trainError QLabel { color: #611a15; }"
        )
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setTextFormat(Qt.TextFormat.RichText)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        dismiss = QToolButton()
        dismiss.setText("✕")
        dismiss.setAutoRaise(True)
        dismiss.clicked.connect(self.error_frame.hide)
        error_row = QHBoxLayout(self.error_frame)
        error_row.addWidget(self.error_label, 1)
        error_row.addWidget(dismiss, 0, Qt.AlignmentFlag.AlignTop)
        self.error_frame.hide()

        self.loss_plot = LossPlot()
        self.sample_view = PictureView(
            "The newest sample grid appears here:\nsketch | output | target"
        )
        samples = QWidget()
        samples_layout = QVBoxLayout(samples)
        samples_layout.setContentsMargins(0, 0, 0, 0)
        self.sample_label = QLabel("Samples")
        samples_layout.addWidget(self.sample_label)
        samples_layout.addWidget(self.sample_view, 1)
        self.log_view = QPlainTextEdit()
        self.log_view.setReadOnly(True)
        self.log_view.setMaximumBlockCount(LOG_LINES)
        self.log_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.log_view.setPlaceholderText("The trainer's messages appear here.")

        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.loss_plot)
        top.addWidget(samples)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 2)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.log_view)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([600, 200])

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.addLayout(controls)
        right_layout.addWidget(self.progress)
        right_layout.addWidget(self.status_label)
        right_layout.addLayout(use_row)
        right_layout.addWidget(self.error_frame)
        right_layout.addWidget(self.splitter, 1)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(scroll)
        layout.addWidget(right, 1)

    @staticmethod
    def _group(title: str, content: QWidget) -> QGroupBox:
        group = QGroupBox(title)
        box = QVBoxLayout(group)
        box.addWidget(content)
        return group

    def _connect(self) -> None:
        self.start_button.clicked.connect(lambda: self.start_training())
        self.stop_button.clicked.connect(self.stop_training)
        self.resume_button.clicked.connect(self.resume_training)
        self.folder_button.clicked.connect(self.open_run_folder)
        self.use_button.clicked.connect(self.use_in_canvas)
        self.back_button.clicked.connect(self.restore_model)
        self.runs_box.currentIndexChanged.connect(lambda _i: self._update_controls())
        self.start_panel.changed.connect(self._on_start_point_changed)
        self.settings_panel.resolutionChanged.connect(
            lambda _r: self.data_panel.set_resolution(self.settings_panel.effective_resolution())
        )
        self.process.started.connect(self._on_process_started)
        self.process.eventReceived.connect(self._on_event)
        self.process.outputLine.connect(lambda line: self.log(line))
        self.process.ended.connect(self._on_ended)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.start_panel.refresh()
        if self.state == "idle":
            self.refresh_runs()

    # -- dialogs (tests replace these) -------------------------------------------------------

    def ask_close_action(self) -> str:
        """ "stop" (save and stop), "keep" (keep training after the app closes) or "cancel"."""
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Training in progress")
        box.setText("A training run is still going.")
        box.setInformativeText(
            "Stop it (it saves a checkpoint, so you can resume later), or keep it training in "
            "the background? Sketchpad shows its progress again when you reopen it."
        )
        stop = box.addButton("Stop and save", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("Keep training", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(keep)
        box.exec()
        clicked = box.clickedButton()
        return "stop" if clicked is stop else "keep" if clicked is keep else "cancel"

    # -- public API --------------------------------------------------------------------------

    def is_running(self) -> bool:
        return self.state != "idle"

    def confirm_close(self) -> bool:
        """For the app's close event: True when the app may close. While training, asks
        whether to stop the trainer (it saves) or keep it running on its own."""
        if not self.is_running():
            return True
        answer = self.ask_close_action()
        if answer == "cancel":
            return False
        if answer == "stop":
            self.process.stop()  # the trainer saves and exits on its own, after we are gone
        self.process.detach()
        self._set_state("idle")
        return True

    def shutdown(self) -> None:
        """The app is closing (after `confirm_close`): drop unfinished data previews. A trainer
        still running is left to run."""
        self.data_panel.cancel()

    def closeEvent(self, event: QCloseEvent) -> None:  # standalone window
        if self.confirm_close():
            self.shutdown()
            event.accept()
        else:
            event.ignore()

    def trainer_args(self) -> list[str]:
        """The flags of a new run (without --out and --progress)."""
        init = self.start_panel.model_path()
        args = ["--data", self.data_panel.spec()]
        if init:
            args += ["--init", init]
        args += self.settings_panel.trainer_args(fine_tuning=init is not None)
        return args + self.extra_args

    def start_training(self, name: str | None = None) -> bool:
        if self.is_running():
            return False
        args = self.trainer_args()
        run_dir = runs.new_run_dir(name or None)
        return self._launch(run_dir, args, f"Starting run {run_dir.name}")

    def resume_training(self) -> bool:
        info = self.selected_run()
        if self.is_running() or info is None or not info.can_resume:
            return False
        total = info.total_steps or info.step
        if info.finished:
            extra = self.settings_panel.steps.value()
            total = info.step + extra
            note = f"Extending {info.name} by {extra} steps (the Steps setting) to {total}"
        else:
            note = f"Resuming {info.name} from step {info.step} of {total}"
        return self._launch(info.path, ["--resume", "--steps", str(total), *self.extra_args], note)

    def stop_training(self) -> None:
        """Graceful stop: the trainer finishes its step, saves and exits. Pressed again while
        stopping, it kills the trainer (resume then starts from the last checkpoint)."""
        if not self.is_running():
            return
        if self.state == "stopping":
            self.log("Killing the trainer")
            self.process.kill()
            return
        self.log("Stopping: finishing the current step and saving…")
        self.process.stop()
        self._set_state("stopping")

    def attach_running_run(self) -> bool:
        """Follow a trainer left running by an earlier session (newest first)."""
        if self.is_running():
            return False
        for info in runs.list_runs():
            if info.running and self.process.attach(info.path):
                self.run_dir = info.path
                self.log(f"Following run {info.name}, still training in the background")
                self._select_run(info.path)
                return True
        return False

    def use_in_canvas(self) -> None:
        path = self.model_for_canvas()
        if path is None:
            return
        if self.model_in_canvas is None:
            self._previous_model = self.start_panel.current_model_path()
        self.model_in_canvas = str(path)
        self.use_model_requested.emit(str(path))
        self._update_controls()

    def restore_model(self) -> None:
        if self.model_in_canvas is None:
            return
        previous = self._previous_model or ""
        self.model_in_canvas = None
        self._previous_model = None
        self.restore_model_requested.emit(previous)
        self._update_controls()

    def model_for_canvas(self) -> Path | None:
        """The exported model of the run being trained, else of the run chosen in the list."""
        run = self.run_dir if self.is_running() else None
        if run is None and (info := self.selected_run()) is not None:
            run = info.path
        path = run / MODEL_NAME if run is not None else None
        return path if path is not None and path.is_file() else None

    # -- runs --------------------------------------------------------------------------------

    def refresh_runs(self, select: Path | None = None) -> None:
        keep = select or (Path(d) if (d := self.runs_box.currentData()) else None)
        self._runs = {str(info.path): info for info in runs.list_runs()}
        self.runs_box.blockSignals(True)
        self.runs_box.clear()
        for key, info in self._runs.items():
            self.runs_box.addItem(info.summary(), key)
            self.runs_box.setItemData(self.runs_box.count() - 1, key, Qt.ItemDataRole.ToolTipRole)
        if not self._runs:
            self.runs_box.addItem("No runs yet", None)
        if keep is not None and (index := self.runs_box.findData(str(keep))) >= 0:
            self.runs_box.setCurrentIndex(index)
        self.runs_box.blockSignals(False)
        self._update_controls()

    def _select_run(self, path: Path) -> None:
        if self.runs_box.findData(str(path)) < 0:
            self.refresh_runs(select=path)
        else:
            self.runs_box.setCurrentIndex(self.runs_box.findData(str(path)))

    def selected_run(self) -> runs.RunInfo | None:
        key = self.runs_box.currentData()
        return runs.read_run(Path(key)) if key else None

    def open_run_folder(self) -> None:
        run = self.run_dir if self.is_running() else None
        if run is None and (info := self.selected_run()) is not None:
            run = info.path
        if run is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(run)))

    # -- running -----------------------------------------------------------------------------

    def _launch(self, run_dir: Path, args: list[str], note: str) -> bool:
        self.error_frame.hide()
        self.last_end = None
        self.run_dir = run_dir
        self.loss_plot.clear()
        self.sample_view.set_image(None)
        self.sample_label.setText("Samples")
        self._set_state("starting")
        self.log(note)
        return self.process.start(run_dir, args, env=self.child_env)

    def _on_process_started(self, pid: int) -> None:
        if self.state == "idle":  # attached to a run left running
            self._set_state("starting")
        if self.run_dir is not None:
            self._select_run(self.run_dir)

    def _set_state(self, state: str) -> None:
        was = self.is_running()
        self.state = state
        if state == "starting":
            self.progress.setRange(0, 0)
            self.progress.setFormat("Preparing the data and the networks…")
            self.status_label.setText("")
        self._update_controls()
        if was != self.is_running():
            self.runningChanged.emit(self.is_running())

    def _update_controls(self) -> None:
        idle = not self.is_running()
        info = self.selected_run() if idle else None
        self.start_button.setEnabled(idle)
        self.stop_button.setEnabled(not idle)
        self.stop_button.setText("Force stop" if self.state == "stopping" else "Stop")
        self.resume_button.setEnabled(idle and info is not None and info.can_resume)
        self.resume_button.setText("Extend" if info is not None and info.finished else "Resume")
        self.runs_box.setEnabled(idle)
        self.folder_button.setEnabled(not idle or info is not None)
        for group in (self.start_group, self.settings_group):
            group.setEnabled(idle)
        self.data_panel.set_inputs_enabled(idle)  # the preview stays readable
        self.use_button.setEnabled(self.model_for_canvas() is not None)
        self.back_button.setEnabled(self.model_in_canvas is not None)
        if self.model_in_canvas is not None:
            self.canvas_label.setText(f"The canvas uses {_run_name(self.model_in_canvas)}'s model")
        else:
            self.canvas_label.setText("")

    def _on_start_point_changed(self) -> None:
        init = self.start_panel.model_path()
        resolution = self.start_panel.model_resolution() if init else None
        self.settings_panel.set_fine_tuning(resolution, fine_tuning=init is not None)
        self.data_panel.set_resolution(self.settings_panel.effective_resolution())

    def _on_event(self, event: dict) -> None:
        try:
            self._handle_event(event)
        except (KeyError, TypeError, ValueError) as exc:  # a trainer of another version
            self.log(f"Could not read a {event.get('event')} event ({type(exc).__name__}: {exc})")

    def _handle_event(self, event: dict) -> None:
        kind = event["event"]
        if kind == "start":
            self._on_start(event)
        elif kind == "step":
            self._on_step(event)
        elif kind == "sample":
            self._show_sample(event)
        elif kind == "checkpoint":
            self.log(f"Saved a checkpoint at step {event['step']}")
            self.refresh_runs(select=self.run_dir)
            self._follow_model(event["model"])
        elif kind == "eval":
            m = event["metrics"]
            self.log(
                f"Evaluation on {event['count']} {event['split']} pairs: PSNR "
                f"{m['psnr']['median']:.2f} dB, SSIM {m['ssim']['median']:.3f}, "
                f"L1 {m['l1']['median']:.4f} (medians)"
            )
        elif kind == "log":
            prefix = "Warning: " if event["level"] == "warning" else ""
            self.log(prefix + event["message"])
        elif kind == "done":
            what = "Stopped" if event["stopped"] else "Finished"
            self.log(f"{what} at step {event['step']}: {event['model']}")
            self._follow_model(event["model"])
        elif kind == "error":
            self.log(f"Error: {event['message']}")

    def _on_start(self, event: dict) -> None:
        if self.state != "stopping":
            self._set_state("running")
        self.run_dir = Path(event["run_dir"])
        self._total_steps = int(event["total_steps"])
        start = int(event["start_step"])
        self.progress.setRange(0, max(1, self._total_steps))
        self.progress.setValue(start)
        self.progress.setFormat(f"Step {start} / {self._total_steps}")
        self.loss_plot.clear()
        if start > 0:
            self.loss_plot.add_many(read_loss_history(self.run_dir, start))
        self.log(
            f"Training on {event['device']}, batch {event['batch_total']}, "
            f"run folder {event['run_dir']}"
        )
        self.log(event["data"])
        self.status_label.setText(f"Training {self.run_dir.name} on {event['device']}")
        self.refresh_runs(select=self.run_dir)

    def _on_step(self, event: dict) -> None:
        step, total = int(event["step"]), int(event["total_steps"])
        if self.progress.maximum() != total:
            self.progress.setRange(0, max(1, total))
        self.progress.setValue(step)
        self.progress.setFormat(
            f"Step {step} / {total} · {event['images_per_s']:.1f} images/s · "
            f"{format_duration(event['eta_s'])} left"
        )
        self.loss_plot.add(step, event["losses"])

    def _show_sample(self, event: dict) -> None:
        image = QImage(event["path"])
        if image.isNull():
            self.log(f"Could not read the sample {event['path']}")
            return
        self.sample_view.set_image(image)
        self.sample_label.setText(f"Samples at step {event['step']}: sketch | output | target")

    def _follow_model(self, model: str) -> None:
        self._update_controls()
        if self.model_in_canvas is not None and Path(model) == Path(self.model_in_canvas):
            self.use_model_requested.emit(model)

    def _on_ended(self, end: RunEnd) -> None:
        self.last_end = end
        self._set_state("idle")
        self.progress.setRange(0, max(1, self._total_steps))
        if end.ok:
            self.status_label.setText(end.message)
            self.progress.setFormat(f"{end.outcome.capitalize()} · %v / %m steps")
            if end.step is not None:
                self.progress.setValue(end.step)
        else:
            self.status_label.setText("")
            self.progress.setFormat("Not training")
            self.show_error(end)
            if self.run_dir is not None and runs.discard_if_unused(self.run_dir):
                self.run_dir = None
        self.refresh_runs(select=self.run_dir)

    def show_error(self, end: RunEnd) -> None:
        title = "Training could not start" if end.step is None else "Training stopped"
        if end.outcome == "crashed":
            title = "The trainer crashed"
        tail = "\n".join(end.log_tail[-8:])
        detail = (
            f"<div style='margin-top:4px'>Last lines of the log:</div>"
            f"<pre style='margin:2px 0 0 0'>{html.escape(tail)}</pre>"
            if tail
            else ""
        )
        self.error_label.setText(f"<b>{html.escape(title)}</b>: {html.escape(end.message)}{detail}")
        self.error_frame.show()
        self.log(f"{title}: {end.message}")

    def error_text(self) -> str:
        """The error shown in the tab ("" when none)."""
        if not self.error_frame.isVisibleTo(self):
            return ""
        return QTextDocumentFragment.fromHtml(self.error_label.text()).toPlainText()

    def log(self, message: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        self.log_view.appendPlainText(f"{stamp}  {message}")


def _run_name(model_path: str) -> str:
    return Path(model_path).parent.name
