"""The Train tab: fine-tune on your own pictures in the background while you keep drawing.

Left: data (with a preview of the pairs as the trainer sees them), starting point, settings
(`RunSetup`).
Right: Start / Stop and the runs bar (`RunsBar`: the runs list, Resume), then the run monitor
(`RunMonitor`: progress, live loss curves, the newest sample grid and the trainer's log) with
the "Use in canvas" row (`CanvasLinkRow`) under its status line. The trainer is a child
process (`TrainerProcess`), so a crash or a bad dataset shows an error here and the app keeps
working. Where the tab is in a run's life is a `TrainState`; this class wires the parts.

Wiring (the main window does it):

    tab = TrainTab(current_model=lambda: window.model.path if window.model else None)
    tab.useModelRequested.connect(window.open_model)          # "Use in canvas"
    tab.restoreModelRequested.connect(lambda p: p and window.open_model(p))  # switch back
    tab.set_canvas_source(window.canvas.image)  # the drawing, for the samples' last row
    window.add_tab(tab, "Train")
    # in closeEvent, first: if not tab.confirm_close(): event.ignore(); return
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QCloseEvent, QDesktopServices, QImage
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from sketchpad.train import events, runs
from sketchpad.train.child import RunEnd
from sketchpad.train.run_files import MODEL_NAME
from sketchpad.ui.canvas_link import CanvasFeed, CanvasLinkRow
from sketchpad.ui.run_monitor import RunMonitor
from sketchpad.ui.run_setup import RunSetup
from sketchpad.ui.runs_bar import RunsBar
from sketchpad.ui.train_data import DataPanel
from sketchpad.ui.train_process import TrainerProcess
from sketchpad.ui.train_settings import SettingsPanel, StartingPointPanel
from sketchpad.ui.train_state import TrainState


class TrainTab(QWidget):
    useModelRequested = Signal(str)
    """ "Use in canvas": load this model file (the run's newest export) in the Draw tab. Sent
    again at each new checkpoint while the canvas uses the run's model."""
    restoreModelRequested = Signal(str)
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
        self.state = TrainState.IDLE
        self.run_dir: Path | None = None
        self.last_end: RunEnd | None = None

        self.process = TrainerProcess(self)
        self.data_panel = DataPanel()
        self._asked_for_data = False
        """Start was refused for want of data, and that error is on show."""
        self.start_panel = StartingPointPanel(current_model)
        self.settings_panel = SettingsPanel()
        self.setup = RunSetup(self.data_panel, self.start_panel, self.settings_panel)
        self.runs_bar = RunsBar()
        self.canvas_link = CanvasLinkRow(self.model_for_canvas, self.start_panel.current_model_path)
        self.monitor = RunMonitor()
        self.canvas_feed = CanvasFeed(parent=self)
        self._build()
        self._connect()
        self.refresh_runs()
        self._update_controls()
        if not (attach_running and self.attach_running_run()):
            self.show_selected_run()

    # -- construction ------------------------------------------------------------------------

    @property
    def current_model_path_provider(self) -> Callable[[], str | None] | None:
        return self.start_panel.current_model_path_provider

    @current_model_path_provider.setter
    def current_model_path_provider(self, provider: Callable[[], str | None] | None) -> None:
        self.start_panel.current_model_path_provider = provider
        self.start_panel.refresh(pick_best=True)

    def set_canvas_source(self, source: Callable[[], QImage | None] | None) -> None:
        """Where the canvas sketch comes from (a QImage of the ink on paper, or None when the
        canvas is empty): each sample grid then ends with it, run through the model being
        trained."""
        self.canvas_feed.source = source
        if self.is_running():
            self.canvas_feed.follow(self.run_dir)

    def _build(self) -> None:
        self.start_button = QPushButton("Start")
        self.start_button.setToolTip(
            "Start a new run with the data, model and settings on the left"
        )
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Finish the current step, save, and stop (Resume continues)")
        self.name_edit = QLineEdit()
        self.name_edit.setToolTip("The new run's name (its folder); empty: named after its data")
        self.name_edit.setMinimumWidth(120)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Name"))
        controls.addWidget(self.name_edit)
        controls.addWidget(self.start_button)
        controls.addWidget(self.stop_button)
        controls.addSpacing(16)
        controls.addWidget(self.runs_bar, 1)

        self.monitor.add_row(self.canvas_link)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.addLayout(controls)
        right_layout.addWidget(self.monitor, 1)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.setup)
        layout.addWidget(right, 1)

    def _connect(self) -> None:
        self.start_button.clicked.connect(lambda: self.start_training())
        self.stop_button.clicked.connect(self.stop_training)
        self.runs_bar.resumeClicked.connect(self.resume_training)
        self.runs_bar.folderClicked.connect(self.open_run_folder)
        self.runs_bar.selectionChanged.connect(self._on_run_chosen)
        self.data_panel.specChanged.connect(self._on_data_chosen)
        self.canvas_link.useModelRequested.connect(self.useModelRequested)
        self.canvas_link.restoreModelRequested.connect(self.restoreModelRequested)
        self.process.started.connect(self._on_process_started)
        self.process.eventReceived.connect(self._on_event)
        self.process.outputLine.connect(self.monitor.log)
        self.process.ended.connect(self._on_ended)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.start_panel.refresh()
        if self.state is TrainState.IDLE:
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
        return self.state.is_running

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
        self.canvas_feed.follow(None)
        self._set_state(TrainState.IDLE)
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
        return self.setup.trainer_args() + self.extra_args

    def start_training(self, name: str | None = None) -> bool:
        if self.is_running():
            return False
        if not self.data_panel.spec():
            message = "Choose the data to train on (Data, at the top left)."
            self.monitor.show_error(RunEnd("failed", message))
            self._asked_for_data = True  # choosing the data takes this error away
            return False
        args = self.trainer_args()
        name = name or self.name_edit.text().strip() or self.suggested_name()
        run_dir = runs.new_run_dir(name)
        self.name_edit.clear()
        return self._launch(run_dir, args, f"Starting run {run_dir.name}")

    def _on_data_chosen(self, spec: str) -> None:
        self._suggest_name()
        if spec and self._asked_for_data:
            self._asked_for_data = False
            self.monitor.error_frame.hide()  # that problem is solved

    def suggested_name(self) -> str:
        """A new run's name when none is typed: after its data ("my-drawings 2" when
        "my-drawings" is taken)."""
        return runs.suggest_run_name(self.data_panel.spec())

    def _suggest_name(self) -> None:
        """The next run's name, greyed in the Name box; none while a run is going."""
        self.name_edit.setPlaceholderText("" if self.is_running() else self.suggested_name())

    def show_selected_run(self) -> None:
        """Show the run chosen in the list as it is on disk: its data and settings on the
        left, its progress, loss history and newest samples on the right."""
        info = self.selected_run()
        if info is None or self.is_running():
            return
        self.setup.show_config(runs.read_config(info.path))
        self.monitor.show_run(info.path, info.step, info.total_steps)

    def _on_run_chosen(self) -> None:
        self._update_controls()
        self.show_selected_run()

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
        args = ["--resume", "--steps", str(total), *self.extra_args]
        return self._launch(info.path, args, note, shown=(info.step, total))

    def stop_training(self) -> None:
        """Graceful stop: the trainer finishes its step, saves and exits. Pressed again while
        stopping, it kills the trainer (resume then starts from the last checkpoint)."""
        if not self.is_running():
            return
        if self.state is TrainState.STOPPING:
            self.monitor.log("Killing the trainer")
            self.process.kill()
            return
        self.monitor.log("Stopping: finishing the current step and saving…")
        self.process.stop()
        self._set_state(TrainState.STOPPING)

    def attach_running_run(self) -> bool:
        """Follow a trainer left running by an earlier session (newest first)."""
        if self.is_running():
            return False
        for info in runs.list_runs():
            if info.running and self.process.attach(info.path):
                self.run_dir = info.path
                self.monitor.log(f"Following run {info.name}, still training in the background")
                self.runs_bar.select(info.path)
                return True
        return False

    def use_in_canvas(self) -> None:
        self.canvas_link.use_in_canvas()

    def restore_model(self) -> None:
        self.canvas_link.restore_model()

    def model_for_canvas(self) -> Path | None:
        """The exported model of the run being trained, else of the run chosen in the list."""
        run = self._shown_run()
        path = run / MODEL_NAME if run is not None else None
        return path if path is not None and path.is_file() else None

    def refresh_runs(self, select: Path | None = None) -> None:
        self.runs_bar.refresh(select)
        self._update_controls()
        self._suggest_name()

    def selected_run(self) -> runs.RunInfo | None:
        return self.runs_bar.selected()

    def open_run_folder(self) -> None:
        run = self._shown_run()
        if run is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(run)))

    def _shown_run(self) -> Path | None:
        """The run being trained, else the run chosen in the list."""
        run = self.run_dir if self.is_running() else None
        if run is None and (info := self.selected_run()) is not None:
            run = info.path
        return run

    # -- the run's life ----------------------------------------------------------------------

    def _launch(
        self, run_dir: Path, args: list[str], note: str, shown: tuple[int, int] | None = None
    ) -> bool:
        """Start a trainer; `shown`: (step, total) of a resumed run, whose history and newest
        samples stay on screen."""
        self.last_end = None
        self.run_dir = run_dir
        if shown is not None:
            self.monitor.show_run(run_dir, *shown)
        else:
            self.monitor.clear()
        self._set_state(TrainState.STARTING)
        self.monitor.log(note)
        return self.process.start(run_dir, args, env=self.child_env)

    def _on_process_started(self, pid: int) -> None:
        if self.state is TrainState.IDLE:  # attached to a run left running
            self._set_state(TrainState.STARTING)
        if self.run_dir is not None:
            self.runs_bar.select(self.run_dir)
            self.canvas_feed.follow(self.run_dir)

    def _set_state(self, state: TrainState) -> None:
        was = self.is_running()
        self.state = state
        if state is TrainState.STARTING:
            self.monitor.show_starting()
        self._update_controls()
        if was != self.is_running():
            self.runningChanged.emit(self.is_running())

    def _update_controls(self) -> None:
        idle = not self.is_running()
        self.start_button.setEnabled(idle)
        self.stop_button.setEnabled(not idle)
        self.stop_button.setText("Force stop" if self.state is TrainState.STOPPING else "Stop")
        self.runs_bar.update_controls(idle)
        self.setup.set_editable(idle)
        self.name_edit.setEnabled(idle)
        self._suggest_name()
        self.canvas_link.update_controls()

    def _on_event(self, event: events.Event) -> None:
        try:
            self._handle_event(event)
        except (KeyError, TypeError, ValueError) as exc:  # a trainer of another version
            self.monitor.log(
                f"Could not read a {event.get('event')} event ({type(exc).__name__}: {exc})"
            )

    def _handle_event(self, event: events.Event) -> None:
        """The monitor shows the event; the tab follows the run's state, folder and model."""
        kind = event["event"]
        if kind == "start":
            if self.state is not TrainState.STOPPING:
                self._set_state(TrainState.RUNNING)
            self.run_dir = Path(event["run_dir"])
        self.monitor.show_event(event)
        if kind in ("start", "checkpoint"):
            self.refresh_runs(select=self.run_dir)
        if kind == "step" and self.run_dir is not None:  # the runs list shows the step reached
            self.runs_bar.show_live_step(self.run_dir, int(event["step"]))
        if kind in ("checkpoint", "done"):
            model = event["model"]
            self._update_controls()
            self.canvas_link.follow(model)

    def _on_ended(self, end: RunEnd) -> None:
        self.canvas_feed.follow(None)
        self.last_end = end
        self._set_state(TrainState.IDLE)
        self.monitor.show_end(end)
        if not end.ok and self.run_dir is not None and runs.discard_if_unused(self.run_dir):
            self.run_dir = None
        self.refresh_runs(select=self.run_dir)
