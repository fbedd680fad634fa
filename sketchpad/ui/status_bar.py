"""The window's status bar: messages on the left; on the right, the device the model runs on,
the model, and the time per picture."""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

if TYPE_CHECKING:
    from sketchpad.ui.worker import Frame, ModelInfo


class StatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.device_label = QLabel("")
        self.model_label = QLabel("No model")
        self.timing_label = QLabel("")
        for label in (self.device_label, self.model_label, self.timing_label):
            label.setContentsMargins(6, 0, 6, 0)
            self.addPermanentWidget(label)
        self._shown: deque[float] = deque(maxlen=30)
        """When the last pictures were shown (`time.perf_counter`), for the rate."""

    def show_model(self, info: ModelInfo) -> None:
        self.model_label.setText(f"{info.name} ({info.resolution} px)")
        self.model_label.setToolTip(info.path)
        self.show_device(info.device_text, info.fallback_reason or "")

    def show_device(self, text: str, reason: str) -> None:
        """`reason`: why the model runs on another device than the one asked for ("": it
        does not)."""
        if reason:
            self.device_label.setText(f"{text} (fallback)")
            self.device_label.setToolTip(reason)
            self.showMessage(reason, 15000)
        else:
            self.device_label.setText(text)
            self.device_label.setToolTip("")

    def show_frame(self, frame: Frame) -> None:
        """A picture was shown: its time, the rate of the last ones, a new device fallback."""
        now = time.perf_counter()
        self._shown.append(now)
        recent = [t for t in self._shown if now - t < 2.0]
        total = frame.result.timings.get("total", frame.milliseconds)
        if len(recent) >= 3:
            fps = (len(recent) - 1) / (recent[-1] - recent[0])
        else:
            fps = 1000.0 / max(frame.milliseconds, 1e-3)
        self.timing_label.setText(f"{total:.0f} ms · {fps:.1f} fps")
        if frame.fallback_reason and frame.fallback_reason != self.device_label.toolTip():
            self.show_device(frame.device_text, frame.fallback_reason)
