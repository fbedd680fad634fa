"""The window's status bar: messages on the left (elided to fit, the whole text in the
tooltip); on the right, the device the model runs on, the model, and the time per picture.

A message with a timeout gives way, when it runs out, to the idle text (the first-run tip
until the user draws, then nothing)."""

from __future__ import annotations

import time
from collections import deque
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QStatusBar, QWidget

from sketchpad.framing import describe as describe_frame

if TYPE_CHECKING:
    from sketchpad.ui.jobs import Frame, ModelInfo


class ElidedLabel(QLabel):
    """One line that shows as much of its text as fits, ending in "…", with the whole text
    in its tooltip when it is cut."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(40)
        self.setTextFormat(Qt.TextFormat.PlainText)

    def full_text(self) -> str:
        return self._full

    def set_full_text(self, text: str) -> None:
        self._full = " ".join(text.split())  # one line
        self._elide()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = max(self.contentsRect().width(), 0)
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, width)
        self.setText(shown)
        self.setToolTip(self._full if shown != self._full else "")


class StatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.message_label = ElidedLabel()
        self.message_label.setContentsMargins(6, 0, 6, 0)
        self.addPermanentWidget(self.message_label, 1)
        self._idle = ""
        self._timer = QTimer(self, singleShot=True)
        self._timer.timeout.connect(self.clearMessage)
        self.device_label = QLabel("")
        self.model_label = QLabel("No model")
        self.timing_label = QLabel("")
        for label in (self.device_label, self.model_label, self.timing_label):
            label.setContentsMargins(6, 0, 6, 0)
            self.addPermanentWidget(label)
        self._shown: deque[float] = deque(maxlen=30)
        """When the last pictures were shown (`time.perf_counter`), for the rate."""

    # -- messages (QStatusBar's own area would be cut off by the labels on the right) -----

    def showMessage(self, text: str, timeout: int = 0) -> None:  # noqa: N802 (Qt's name)
        """`text` until the next message, or for `timeout` ms (then the idle text)."""
        self.message_label.set_full_text(text)
        if timeout > 0:
            self._timer.start(timeout)
        else:
            self._timer.stop()

    def add_message(self, text: str, timeout: int = 0) -> None:
        """`text` after the message shown now (a passing one, not the idle text), else alone."""
        current = self.currentMessage()
        passing = current and (self._timer.isActive() or current != self._idle)
        self.showMessage(f"{current} · {text}" if passing else text, timeout)

    def clearMessage(self) -> None:  # noqa: N802 (Qt's name)
        self._timer.stop()
        self.message_label.set_full_text(self._idle)

    def currentMessage(self) -> str:  # noqa: N802 (Qt's name)
        return self.message_label.full_text()

    def set_idle_text(self, text: str) -> None:
        """What shows when no message does (replacing the message now when none shows)."""
        showing_idle = not self._timer.isActive() and self.currentMessage() == self._idle
        self._idle = text
        if showing_idle:
            self.message_label.set_full_text(text)

    def show_model(self, info: ModelInfo) -> None:
        side = info.picture_side
        size = f"{info.resolution} px" if side == info.resolution else f"{side} px"
        self.model_label.setText(f"{info.name} ({size})")
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
        """A picture was shown: its time, the rate of the last ones, how a small drawing was
        fitted to the model's frame, a new device fallback."""
        now = time.perf_counter()
        self._shown.append(now)
        recent = [t for t in self._shown if now - t < 2.0]
        total = frame.result.timings.get("total", frame.milliseconds)
        if len(recent) >= 3:
            fps = (len(recent) - 1) / (recent[-1] - recent[0])
        else:
            fps = 1000.0 / max(frame.milliseconds, 1e-3)
        text = f"{total:.0f} ms · {fps:.1f} fps"
        if frame.result.frame is not None:  # Model ▸ Fit small drawings did something
            text += f" · {describe_frame(frame.result.frame)}"
        self.timing_label.setText(text)
        if frame.fallback_reason and frame.fallback_reason != self.device_label.toolTip():
            self.show_device(frame.device_text, frame.fallback_reason)
