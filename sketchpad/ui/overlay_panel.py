"""The strip under the result while an overlay is on: the branch (verdicts) or attention level
(probe) selector, the opacity slider and the legend."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QLinearGradient, QPainter, QPaintEvent, QPolygonF
from PySide6.QtWidgets import QComboBox, QGridLayout, QLabel, QSizePolicy, QSlider, QWidget

from sketchpad.ui.overlay import PROBE, VERDICTS
from sketchpad.verdicts import ATTENTION_ANCHORS, VERDICT_ANCHORS, VERDICT_CAPTION


class Legend(QWidget):
    """A colour bar with its two ends named ("fake" … "real", or "less" … "more" attention),
    a caption under it and, when set, a marker at one value (the hovered score)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._anchors = VERDICT_ANCHORS
        self._ends = ("fake", "real")
        self._caption = VERDICT_CAPTION
        self._marker: float | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumWidth(180)
        self.set_scale(VERDICTS)

    def set_scale(self, mode: str) -> None:
        if mode == PROBE:
            self._anchors, self._ends = ATTENTION_ANCHORS, ("less", "more")
            self._caption = "attention weight, relative to the most attended position"
        else:
            self._anchors, self._ends, self._caption = (
                VERDICT_ANCHORS,
                ("fake", "real"),
                VERDICT_CAPTION,
            )
        self.setToolTip(self._caption[0].upper() + self._caption[1:])
        self._marker = None
        self.update()

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
        for stop, (r, g, b) in zip(
            np.linspace(0, 1, len(self._anchors)), self._anchors, strict=True
        ):
            gradient.setColorAt(float(stop), QColor(int(r), int(g), int(b)))
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
            x = bar.left() + max(0.0, min(1.0, self._marker)) * bar.width()
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
        self.opacity_slider.setValue(60)
        self.opacity_slider.setFixedWidth(110)
        self.opacity_slider.setToolTip("Opacity of the overlay")
        self.opacity_slider.valueChanged.connect(lambda v: self.opacityChanged.emit(v / 100.0))
        self.legend = Legend()
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
        layout.addWidget(QLabel("Opacity"), 0, 5)
        layout.addWidget(self.opacity_slider, 0, 6)
        layout.addWidget(self.legend, 1, 0, 1, 7)

    def set_mode(self, mode: str) -> None:
        self.branch_label.setVisible(mode == VERDICTS)
        self.branch_box.setVisible(mode == VERDICTS)
        self.level_label.setVisible(mode == PROBE)
        self.level_box.setVisible(mode == PROBE)
        self.level_box.setEnabled(self.level_box.count() > 1)
        self.legend.set_scale(mode)

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
