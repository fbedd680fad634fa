"""The strip under the result: while an overlay is on, the branch (verdicts) or attention level
(probe) selector, the opacity slider and the legend; otherwise a line saying what it is for.
Its height never changes, so switching an overlay on or off does not move the picture."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QLinearGradient, QPainter, QPaintEvent, QPolygonF
from PySide6.QtWidgets import QComboBox, QGridLayout, QLabel, QSizePolicy, QSlider, QWidget

from sketchpad.ui.overlay import OFF, PROBE, VERDICTS
from sketchpad.verdicts import VERDICT_CAPTION, centred_rgba, weight_rgba

_STOPS = 17


class Legend(QWidget):
    """A colour bar (the overlay's colours, transparency shown over white) with its two ends
    named, a caption under it and, when set, a marker at one value (the hovered score).

    The verdict bar runs from `median - spread` to `median + spread` (`set_range`), clear in
    the middle as the overlay is; the attention bar from no weight to the most."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._mode = VERDICTS
        self._range = (0.5, 0.5)  # (median, spread)
        self._whole = False
        self._colours = centred_rgba(np.linspace(0, 1, _STOPS), 0.5, 0.5)
        self._ends = ("fake", "real")
        self._caption = VERDICT_CAPTION
        self._marker: float | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(180)
        self.set_scale(VERDICTS)

    def set_scale(self, mode: str) -> None:
        self._mode = mode
        self._marker = None
        if mode == PROBE:
            self._colours = weight_rgba(np.linspace(0, 1, _STOPS))
            self._ends = ("less", "more")
            self._caption = "attention weight, relative to the most attended position"
            self._show_caption()
        else:
            self.set_range(*self._range, whole=self._whole)

    def set_range(self, median: float, spread: float, whole: bool = False) -> None:
        """The verdict scale: colours centred on `median`, full at `spread` from it. `whole`:
        the branch judges the whole picture with one score (the scale is then absolute)."""
        self._range = (median, spread)
        self._whole = whole
        if self._mode == PROBE:
            return
        lo, hi = median - spread, median + spread
        self._colours = centred_rgba(np.linspace(lo, hi, _STOPS), median, spread)
        if whole:
            self._ends = (f"fake {lo:.2f}", f"{hi:.2f} real")
            self._caption = (
                f"probability the whole picture looks real ({median:.2f} = undecided, clear)"
            )
        else:
            self._ends = (f"faker {lo:.2f}", f"{hi:.2f} more real")
            self._caption = (
                f"probability a patch looks real, against this picture's median {median:.2f} "
                "(clear)"
            )
        self._show_caption()

    def _show_caption(self) -> None:
        self.setToolTip(
            self._caption[0].upper()
            + self._caption[1:]
            + (
                ": blue where the discriminator finds the patch faker than most, orange where "
                "more real; clear where it has nothing particular to say"
                if self._mode != PROBE
                else ""
            )
        )
        self.update()

    def position(self, value: float) -> float:
        """Where `value` lies along the bar, in [0, 1]."""
        if self._mode == PROBE:
            return max(0.0, min(1.0, value))
        median, spread = self._range
        return max(0.0, min(1.0, 0.5 + (value - median) / (2 * spread)))

    def ends(self) -> tuple[str, str]:
        return self._ends

    def caption(self) -> str:
        return self._caption

    def set_marker(self, value: float | None) -> None:
        if value != self._marker:
            self._marker = value
            self.update()

    def sizeHint(self) -> QSize:
        return QSize(320, 2 * self.fontMetrics().height() + 16)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        fm = painter.fontMetrics()
        left_w = fm.horizontalAdvance(self._ends[0]) + 6
        right_w = fm.horizontalAdvance(self._ends[1]) + 6
        bar = QRectF(left_w, 4, max(10.0, self.width() - left_w - right_w), fm.height() - 2)
        gradient = QLinearGradient(bar.topLeft(), bar.topRight())
        for stop, (r, g, b, a) in zip(
            np.linspace(0, 1, len(self._colours)), self._colours, strict=True
        ):
            gradient.setColorAt(float(stop), QColor(int(r), int(g), int(b), int(a)))
        painter.fillRect(bar, QColor(255, 255, 255))
        painter.fillRect(bar, gradient)
        text = self.palette().text().color()
        painter.setPen(self.palette().mid().color())
        painter.drawRect(bar)
        painter.setPen(text)
        middle = int(Qt.AlignmentFlag.AlignVCenter)
        painter.drawText(
            QRectF(0, bar.y(), left_w - 4, bar.height()),
            middle | Qt.AlignmentFlag.AlignRight,
            self._ends[0],
        )
        painter.drawText(
            QRectF(bar.right() + 4, bar.y(), right_w, bar.height()), middle, self._ends[1]
        )
        below = QRectF(0, bar.bottom() + 7, self.width(), fm.height() + 2)
        painter.drawText(
            below, int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop), self._caption
        )
        if self._marker is not None:
            x = bar.left() + self.position(self._marker) * bar.width()
            tip = QPolygonF(
                [
                    QPointF(x, bar.bottom() - 1),
                    QPointF(x - 5, bar.bottom() + 6),
                    QPointF(x + 5, bar.bottom() + 6),
                ]
            )
            painter.setPen(QColor(255, 255, 255))
            painter.setBrush(QColor(0, 0, 0))
            painter.drawPolygon(tip)
            painter.setPen(QColor(0, 0, 0))
            painter.drawLine(QPointF(x, bar.top()), QPointF(x, bar.bottom()))
        painter.end()


class OverlayPanel(QWidget):
    """Controls of the overlay in view: branch or level, opacity (percent), legend."""

    branchChosen = Signal(object)  # a branch index or COMBINED
    levelChosen = Signal(int)
    opacityChanged = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.branch_label = QLabel("Branch")
        self.branch_box = QComboBox()
        self.branch_box.setToolTip("Which of the discriminator's outputs to show")
        self.branch_box.activated.connect(
            lambda i: self.branchChosen.emit(self.branch_box.itemData(i))
        )
        self.level_label = QLabel("Attention")
        self.level_box = QComboBox()
        self.level_box.setToolTip("Which self-attention block of the generator to probe")
        self.level_box.activated.connect(
            lambda i: self.levelChosen.emit(int(self.level_box.itemData(i)))
        )
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(80)
        self.opacity_slider.setFixedWidth(110)
        self.opacity_slider.setToolTip("Opacity of the overlay")
        self.opacity_slider.valueChanged.connect(self._on_opacity)
        self._opacities = {VERDICTS: 80, PROBE: 80}
        """Each overlay keeps its own opacity (percent): dimming the verdicts must not hide
        the next probe."""
        self.legend = Legend()
        self.idle_label = QLabel(
            "Verdicts (V) show where the discriminator finds the picture fake or real; "
            "Probe (P) where the generator looked. Their legend shows here."
        )
        self.idle_label.setWordWrap(True)
        self.idle_label.setEnabled(False)  # quiet, in the disabled text colour
        for w in (self.branch_box, self.level_box, self.opacity_slider):
            w.setFocusPolicy(Qt.FocusPolicy.ClickFocus)

        layout = QGridLayout(self)
        layout.setContentsMargins(4, 4, 4, 2)
        layout.setVerticalSpacing(2)
        layout.addWidget(self.branch_label, 0, 0)
        layout.addWidget(self.branch_box, 0, 1)
        layout.addWidget(self.level_label, 0, 2)
        layout.addWidget(self.level_box, 0, 3)
        layout.setColumnStretch(4, 1)
        self.opacity_label = QLabel("Opacity")
        layout.addWidget(self.opacity_label, 0, 5)
        layout.addWidget(self.opacity_slider, 0, 6)
        layout.addWidget(self.legend, 1, 0, 1, 7)
        layout.addWidget(self.idle_label, 0, 0, 2, 7)
        self.setFixedHeight(self.sizeHint().height())  # with every control: the most it needs
        self.mode = OFF
        self.set_mode(OFF)

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self.idle_label.setVisible(mode == OFF)
        for w in (self.legend, self.opacity_label, self.opacity_slider):
            w.setVisible(mode != OFF)
        self.branch_label.setVisible(mode == VERDICTS)
        self.branch_box.setVisible(mode == VERDICTS)
        self.level_label.setVisible(mode == PROBE)
        self.level_box.setVisible(mode == PROBE)
        self.level_box.setEnabled(self.level_box.count() > 1)
        if mode != OFF:
            self.legend.set_scale(mode)
            self.opacity_slider.setValue(self._opacities[mode])
            self.opacityChanged.emit(self.opacity)

    def _on_opacity(self, value: int) -> None:
        if self.mode in self._opacities:
            self._opacities[self.mode] = value
        self.opacityChanged.emit(value / 100.0)

    def set_choices(
        self, branches: list[tuple[str, object]], levels: list[tuple[str, int]]
    ) -> None:
        for box, items in ((self.branch_box, branches), (self.level_box, levels)):
            box.clear()
            for text, value in items:
                box.addItem(text, value)

    @property
    def opacity(self) -> float:
        return self.opacity_slider.value() / 100.0
