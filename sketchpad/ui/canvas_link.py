"""The Train tab's "Use in canvas" row: the canvas draws with a run's exported model (and
follows the run's new checkpoints) until it is sent back to the model it had before."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget


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
