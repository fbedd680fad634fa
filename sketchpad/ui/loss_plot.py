"""Live loss curves that stay fast over long runs.

Two plots sharing the step axis: the adversarial terms (G adversarial, D real, D fake, gradient
penalty) and the reconstruction terms (G L1, G feature matching, and any other term the trainer
logs), since L1 × 100 would flatten the others. Each curve keeps at most `max_points` points
(see `Series`), so memory and drawing cost stay bounded however long the run. Redraws are
batched (a few per second) and pyqtgraph draws only the visible range, downsampled to the
screen's width.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QSizePolicy, QVBoxLayout, QWidget

LABELS = {
    "g_adv": "G adversarial",
    "g_l1": "G L1",
    "g_fm": "G feature matching",
    "d_real": "D real",
    "d_fake": "D fake",
    "gp": "gradient penalty",
}
COLOURS = {
    "g_adv": "#1f77b4",
    "d_real": "#2ca02c",
    "d_fake": "#d62728",
    "gp": "#9467bd",
    "g_l1": "#ff7f0e",
    "g_fm": "#8c564b",
}
EXTRA_COLOURS = ("#e377c2", "#17becf", "#bcbd22", "#7f7f7f")
ADVERSARIAL = ("g_adv", "d_real", "d_fake", "gp")
MAX_POINTS = 2000
REDRAW_MS = 250


def label_of(key: str) -> str:
    return LABELS.get(key, key.replace("_", " "))


def is_adversarial(key: str) -> bool:
    return key in ADVERSARIAL or key.startswith("d_")


class Series:
    """A curve's (step, value) points, at most `max_points` of them.

    When full, neighbouring points are averaged in pairs and from then on every stored point
    is the mean of twice as many incoming ones, so each point always covers an equal share of
    the run. The newest, still filling bucket is shown as a provisional last point."""

    def __init__(self, max_points: int = MAX_POINTS) -> None:
        if max_points < 4 or max_points % 2:
            raise ValueError("max_points must be an even number ≥ 4")
        self.max_points = max_points
        self.stride = 1
        """Incoming points per stored point."""
        self._x = np.empty(max_points + 1, np.float64)
        self._y = np.empty(max_points + 1, np.float64)
        self._n = 0
        self._sum_x = self._sum_y = 0.0
        self._pending = 0

    def __len__(self) -> int:
        return self._n + (1 if self._pending else 0)

    def append(self, x: float, y: float) -> None:
        self._sum_x += x
        self._sum_y += y
        self._pending += 1
        if self._pending < self.stride:
            return
        if self._n == self.max_points:
            half = self._n // 2
            self._x[:half] = self._x[: self._n].reshape(half, 2).mean(axis=1)
            self._y[:half] = self._y[: self._n].reshape(half, 2).mean(axis=1)
            self._n = half
            self.stride *= 2
            if self._pending < self.stride:
                return  # the bucket now needs more points
        self._x[self._n] = self._sum_x / self._pending
        self._y[self._n] = self._sum_y / self._pending
        self._n += 1
        self._sum_x = self._sum_y = 0.0
        self._pending = 0

    @property
    def x(self) -> np.ndarray:
        if self._pending:
            self._x[self._n] = self._sum_x / self._pending
        return self._x[: len(self)]

    @property
    def y(self) -> np.ndarray:
        if self._pending:
            self._y[self._n] = self._sum_y / self._pending
        return self._y[: len(self)]


class LossPlot(QWidget):
    def __init__(self, parent: QWidget | None = None, max_points: int = MAX_POINTS) -> None:
        super().__init__(parent)
        self.max_points = max_points
        self.series: dict[str, Series] = {}
        self._curves: dict[str, pg.PlotDataItem] = {}
        self.legends: dict[str, pg.LegendItem] = {}
        """Per plot ("adversarial", "reconstruction"): its legend, beside it, never over it."""
        self._dirty = False
        self.redraws = 0

        self.view = pg.GraphicsLayoutWidget()
        self.view.setBackground(self.palette().base().color())
        foreground = self.palette().text().color()
        self.adversarial = self._make_plot(0, "adversarial", foreground)
        self.reconstruction = self._make_plot(1, "reconstruction", foreground)
        self.reconstruction.setXLink(self.adversarial)
        self.reconstruction.setLabel("bottom", "step", color=foreground)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)

        self._timer = QTimer(self, singleShot=True, interval=REDRAW_MS)
        self._timer.timeout.connect(self.redraw)

    def _make_plot(self, row: int, title: str, foreground) -> pg.PlotItem:
        plot = self.view.addPlot(row=row, col=0)
        plot.setTitle(title, color=foreground, size="9pt")
        plot.showGrid(x=True, y=True, alpha=0.25)
        plot.setClipToView(True)
        plot.setDownsampling(auto=True, mode="peak")
        legend = pg.LegendItem(labelTextColor=foreground, labelTextSize="8pt", verSpacing=-4)
        self.view.addItem(legend, row=row, col=1)  # its own column: the curves stay in view
        legend.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.view.ci.layout.setAlignment(legend, Qt.AlignmentFlag.AlignTop)
        self.legends[title] = legend
        plot.setMenuEnabled(False)
        for axis in ("left", "bottom"):
            plot.getAxis(axis).setTextPen(foreground)
        return plot

    def add(self, step: float, losses: Mapping[str, float]) -> None:
        """One `step` event's losses; the curves catch up at the next redraw."""
        for key, value in losses.items():
            if value is None or not np.isfinite(value):
                continue
            if key not in self.series:
                self._new_curve(key)
            self.series[key].append(float(step), float(value))
        self._dirty = True
        if not self._timer.isActive():
            self._timer.start()

    def add_many(self, records: Iterable[tuple[float, Mapping[str, float]]]) -> None:
        for step, losses in records:
            self.add(step, losses)

    def _new_curve(self, key: str) -> None:
        self.series[key] = Series(self.max_points)
        extra = sum(1 for k in self._curves if k not in COLOURS)
        colour = COLOURS.get(key, EXTRA_COLOURS[extra % len(EXTRA_COLOURS)])
        adversarial = is_adversarial(key)
        plot = self.adversarial if adversarial else self.reconstruction
        curve = plot.plot([], [], pen=pg.mkPen(colour, width=1.5), name=label_of(key))
        curve.setSkipFiniteCheck(True)
        self.legends["adversarial" if adversarial else "reconstruction"].addItem(
            curve, label_of(key)
        )
        self._curves[key] = curve

    def redraw(self) -> None:
        if not self._dirty:
            return
        self._dirty = False
        self.redraws += 1
        for key, series in self.series.items():
            self._curves[key].setData(series.x, series.y)

    def fit(self) -> None:
        """Axes that fit the curves again (after a history was loaded)."""
        for plot in (self.adversarial, self.reconstruction):
            plot.enableAutoRange()

    def clear(self) -> None:
        self._timer.stop()
        for key, curve in self._curves.items():
            adversarial = is_adversarial(key)
            plot = self.adversarial if adversarial else self.reconstruction
            plot.removeItem(curve)
            self.legends["adversarial" if adversarial else "reconstruction"].removeItem(curve)
        self._curves.clear()
        self.series.clear()
        self._dirty = False

    def keys(self) -> list[str]:
        return list(self.series)

    def point_count(self) -> int:
        return sum(len(s) for s in self.series.values())
