"""The Train tab's link with the canvas: the "Use in canvas" row (the canvas draws with a run's
exported model, and follows the run's new checkpoints, until it is sent back to the model it had
before), and the canvas sketch fed to the running trainer for its samples (`CanvasFeed`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, QTimer, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from sketchpad.checkpoint import atomic_write_bytes
from sketchpad.train.run_files import CANVAS_SKETCH_NAME


class CanvasLinkRow(QWidget):
    """ "Use in canvas", "Back to previous model" and which run's model the canvas uses."""

    useModelRequested = Signal(str)
    """Load this model file in the canvas."""
    restoreModelRequested = Signal(str)
    """Load the model file the canvas had before ("" if none)."""

    def __init__(
        self,
        run_model: Callable[[], Path | None],
        canvas_model: Callable[[], str | None],
        parent: QWidget | None = None,
    ) -> None:
        """`run_model`: the exported model the canvas would use now (None: nothing to use);
        `canvas_model`: the model the canvas has now."""
        super().__init__(parent)
        self._run_model = run_model
        self._canvas_model = canvas_model
        self.model_in_canvas: str | None = None
        self._previous_model: str | None = None

        self.use_button = QPushButton("Use in canvas")
        self.use_button.setToolTip(
            "Draw with this run's newest exported model (it follows new checkpoints)"
        )
        self.back_button = QPushButton("Back to previous model")
        self.canvas_label = QLabel("")
        self.canvas_label.setStyleSheet("color: palette(placeholder-text);")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.use_button)
        layout.addWidget(self.back_button)
        layout.addWidget(self.canvas_label, 1)

        self.use_button.clicked.connect(self.use_in_canvas)
        self.back_button.clicked.connect(self.restore_model)

    def use_in_canvas(self) -> None:
        path = self._run_model()
        if path is None:
            return
        if self.model_in_canvas is None:
            self._previous_model = self._canvas_model()
        self.model_in_canvas = str(path)
        self.useModelRequested.emit(str(path))
        self.update_controls()

    def restore_model(self) -> None:
        if self.model_in_canvas is None:
            return
        previous = self._previous_model or ""
        self.model_in_canvas = None
        self._previous_model = None
        self.restoreModelRequested.emit(previous)
        self.update_controls()

    def follow(self, model: str) -> None:
        """The run saved `model` again: the canvas takes it when it uses that model."""
        if self.model_in_canvas is not None and Path(model) == Path(self.model_in_canvas):
            self.useModelRequested.emit(model)

    def update_controls(self) -> None:
        self.use_button.setEnabled(self._run_model() is not None)
        self.back_button.setEnabled(self.model_in_canvas is not None)
        if self.model_in_canvas is not None:
            run = Path(self.model_in_canvas).parent.name
            self.canvas_label.setText(f"The canvas uses {run}'s model")
        else:
            self.canvas_label.setText("")


def is_blank(image: QImage, paper: int = 200) -> bool:
    """No pixel darker than `paper` (0-255 grey): nothing drawn."""
    grey = image.convertToFormat(QImage.Format.Format_Grayscale8)
    rows = np.frombuffer(grey.constBits(), np.uint8).reshape(grey.height(), grey.bytesPerLine())
    return int(rows[:, : grey.width()].min(initial=255)) > paper


class CanvasFeed(QObject):
    """Keeps the run folder's canvas sketch (`CANVAS_SKETCH_NAME`) up to date while a trainer
    runs, so each sample grid shows the user's drawing with the model being trained. The file
    is written atomically, only when the drawing changed; the trainer reads it when it samples.
    """

    def __init__(
        self,
        source: Callable[[], QImage | None] | None = None,
        parent: QObject | None = None,
        interval_ms: int = 1500,
    ) -> None:
        super().__init__(parent)
        self.source = source
        """Returns the canvas sketch (ink on paper) or None when there is none."""
        self.run_dir: Path | None = None
        self.writes = 0
        self._last: bytes | None = None
        self._timer = QTimer(self, interval=interval_ms)
        self._timer.timeout.connect(self.update_file)

    def follow(self, run_dir: Path | None) -> None:
        """Write the sketch into `run_dir` from now on (None: stop)."""
        self.run_dir, self._last = run_dir, None
        if run_dir is None or self.source is None:
            self._timer.stop()
            return
        self.update_file()
        self._timer.start()

    def update_file(self) -> bool:
        """Write the sketch if it changed since the last write; True when written. A blank
        canvas removes the file (the samples then show no drawing row)."""
        image = self.source() if self.source is not None else None
        if self.run_dir is None:
            return False
        if image is None or image.isNull() or is_blank(image):
            if self._last is not None:
                (self.run_dir / CANVAS_SKETCH_NAME).unlink(missing_ok=True)
                self._last = None
            return False
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(buffer, "PNG")
        png = bytes(data.data())
        if png == self._last:
            return False
        try:
            atomic_write_bytes(self.run_dir / CANVAS_SKETCH_NAME, png)
        except OSError:
            return False  # a full disk or a removed run: the samples just lack the canvas row
        self._last = png
        self.writes += 1
        return True
