"""What a training run shows while it goes: the progress bar and a status line, an error
banner, live loss curves, the newest sample grid and the trainer's log. Fed the trainer's
events (`show_event`) and how the run ended (`show_end`); it knows nothing of processes."""

from __future__ import annotations

import html
import time
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QImage, QTextDocumentFragment
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from sketchpad.train import events, runs
from sketchpad.train.child import RunEnd
from sketchpad.train.events import format_duration
from sketchpad.ui.loss_plot import LossPlot
from sketchpad.ui.train_data import PictureView

LOG_LINES = 5000


def sample_caption(event: events.Event) -> str:
    """What a sample grid shows, from its `sample` event (older trainers say less)."""
    split = event.get("split")
    if split == "train":
        pairs = "training pairs (too few pictures to hold any out)"
    elif split in ("val", "test"):
        pairs = "held-out pairs the model does not train on"
    else:
        pairs = "fixed pairs"
    canvas = "; last row: your drawing, with the model being trained" if event.get("canvas") else ""
    return f"Step {event['step']}: sketch | output | target for {pairs}{canvas}"


class RunMonitor(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._total_steps = 0

        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("Not training")
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)

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
        self.sample_label.setWordWrap(True)  # a long caption must not squeeze the curves
        self.loss_plot.setMinimumWidth(280)
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
        top.setSizes([600, 400])  # curves | samples, whatever the caption's length
        samples.setMinimumWidth(220)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(top)
        self.splitter.addWidget(self.log_view)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([600, 200])

        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.addWidget(self.progress)
        self._layout.addWidget(self.status_label)
        self._layout.addWidget(self.error_frame)
        self._layout.addWidget(self.splitter, 1)

    def add_row(self, row: QWidget) -> None:
        """A row of the owner's controls, under the status line."""
        self._layout.insertWidget(self._layout.indexOf(self.error_frame), row)

    # -- a run's life ------------------------------------------------------------------------

    def clear(self) -> None:
        """A new run: no error, no curves, no sample."""
        self.error_frame.hide()
        self.loss_plot.clear()
        self.sample_view.set_image(None)
        self.sample_label.setText("Samples")

    def show_run(self, run_dir: Path, step: int, total: int | None) -> None:
        """A run on disk, not training: its progress, its loss history and its newest
        sample grid (after a restart, or before it is resumed)."""
        self.clear()
        self._total_steps = total or step
        self.progress.setRange(0, max(1, self._total_steps))
        self.progress.setValue(step)
        self.progress.setFormat(f"{run_dir.name} · step %v / %m" if total else "Not training")
        self.loss_plot.add_many(runs.read_loss_history(run_dir, step or 10**12))
        self.loss_plot.redraw()
        self.loss_plot.fit()
        latest = runs.latest_sample(run_dir)
        if latest is not None:
            sample_step, path, event = latest
            found = {"event": "sample", "step": sample_step}
            self._show_sample({**(event or found), "path": str(path)})  # the file, as it is now

    def show_starting(self) -> None:
        self.progress.setRange(0, 0)
        self.progress.setFormat("Preparing the data and the networks…")
        self.status_label.setText("")

    def show_event(self, event: events.Event) -> None:
        """Show one trainer event. Raises KeyError, TypeError or ValueError on an event it
        cannot read (a trainer of another version)."""
        kind = event["event"]
        if kind == "phase":
            self._show_phase(str(event["phase"]))
        elif kind == "start":
            self._show_start(event)
        elif kind == "step":
            self._show_step(event)
        elif kind == "sample":
            self._show_sample(event)
        elif kind == "checkpoint":
            self.log(f"Saved a checkpoint at step {event['step']}")
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
        elif kind == "error":
            self.log(f"Error: {event['message']}")

    def _show_phase(self, phase: str) -> None:
        self.progress.setRange(0, 0)  # busy: no step yet
        self.progress.setFormat(f"{phase[:1].upper()}{phase[1:]}…")

    def _show_start(self, event: events.Event) -> None:
        run_dir = Path(event["run_dir"])
        self._total_steps = int(event["total_steps"])
        start = int(event["start_step"])
        self.progress.setRange(0, max(1, self._total_steps))
        self.progress.setValue(start)
        self.progress.setFormat(f"Step {start} / {self._total_steps} · timing the first steps…")
        self.loss_plot.clear()
        if start > 0:
            self.loss_plot.add_many(runs.read_loss_history(run_dir, start))
            self.loss_plot.fit()
        self.log(
            f"Training on {event['device']}, batch {event['batch_total']}, "
            f"run folder {event['run_dir']}"
        )
        self.log(event["data"])
        self.status_label.setText(f"Training {run_dir.name} on {event['device']}")

    def _show_step(self, event: events.Event) -> None:
        step, total = int(event["step"]), int(event["total_steps"])
        if self.progress.maximum() != total:
            self.progress.setRange(0, max(1, total))
        self.progress.setValue(step)
        self.progress.setFormat(
            f"Step {step} / {total} · {event['images_per_s']:.1f} images/s · "
            f"{format_duration(event['eta_s'])} left"
        )
        self.loss_plot.add(step, event["losses"])

    def _show_sample(self, event: events.Event) -> None:
        image = QImage(event["path"])
        if image.isNull():
            self.log(f"Could not read the sample {event['path']}")
            return
        self.sample_view.set_image(image)
        self.sample_label.setText(sample_caption(event))
        step = int(event["step"])
        if self.progress.maximum() > 0 and step > self.progress.value():
            self.progress.setValue(step)  # samples come between the step events

    def show_end(self, end: RunEnd) -> None:
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
        """The error shown ("" when none)."""
        if not self.error_frame.isVisibleTo(self):
            return ""
        return QTextDocumentFragment.fromHtml(self.error_label.text()).toPlainText()

    def log(self, message: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        self.log_view.appendPlainText(f"{stamp}  {message}")
