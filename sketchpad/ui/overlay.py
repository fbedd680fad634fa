"""What the result view draws over the generated picture: the discriminator's verdicts (where
a patch's probability of looking real stands out from the branch's median, one branch or all
combined, and the hovered cell's receptive field) or the attention probe (where the
self-attention looked when it made the clicked position).

`ResultOverlay` keeps the state and paints; the numbers (cells, windows, colours) come from
`sketchpad.verdicts`. It paints in model-resolution pixels scaled to the view's
`target_rect()`.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen

from sketchpad.verdicts import (
    COMBINED,
    COMBINED_LABEL,
    Branch,
    Cell,
    attention_rgba,
    cells_at,
    centred_rgba,
    combined_map,
    feature_rect,
    level_label,
    pixel_map,
    probe_cell,
    verdict_scale,
    verdict_word,
)

OFF, VERDICTS, PROBE = "off", "verdicts", "probe"
_DASHES = (Qt.PenStyle.SolidLine, Qt.PenStyle.DashLine, Qt.PenStyle.DotLine)


def rgba_to_qimage(rgba: np.ndarray) -> QImage:
    h, w = rgba.shape[:2]
    a = np.ascontiguousarray(rgba, np.uint8)
    return QImage(a.data, w, h, 4 * w, QImage.Format.Format_RGBA8888).copy()


class ResultOverlay(QObject):
    """State and painting of the overlays. `branch` is an index into `branches` or
    `COMBINED`; `level` is an attention level; `opacity` is in [0, 1]."""

    changed = Signal()
    """Something to repaint."""
    hoverChanged = Signal(object)
    """The hovered cells changed: a list of `Cell` (empty when none)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.mode = OFF
        self.resolution = 1
        self.branches: list[Branch] = []
        self.levels: tuple[int, ...] = ()
        self.verdicts: list[np.ndarray] | None = None
        self.attention: dict[int, np.ndarray] | None = None
        self.branch: int | str = 0
        self.level: int | None = None
        self.opacity = 0.8
        self.probe: tuple[float, float] = (0.5, 0.5)
        self.hover_cells: list[Cell] = []
        self._hover_at: tuple[float, float] | None = None
        self._heatmap: QImage | None = None
        self.scale: tuple[float, float] | None = None
        """(median, spread) the verdict colours are centred on, None when none are shown."""

    # -- inputs ------------------------------------------------------------------------------

    def set_model(
        self, branches: tuple[Branch, ...], levels: tuple[int, ...], resolution: int
    ) -> None:
        self.branches, self.levels, self.resolution = list(branches), tuple(levels), resolution
        self.verdicts = self.attention = None
        self.branch = 0 if self.branches else COMBINED
        self.level = self.levels[0] if self.levels else None
        self._refresh()

    def set_result(self, verdicts, attention) -> None:
        """A new picture's verdicts [(label, map)] and attention {level: weights} (either may
        be None: that picture was made without them)."""
        self.verdicts = None
        if verdicts is not None and self._matches(verdicts):
            self.verdicts = [np.asarray(p, np.float32) for _, p in verdicts]
        self.attention = dict(attention) if attention else None
        self._refresh()

    def _matches(self, verdicts) -> bool:
        return len(verdicts) == len(self.branches) and all(
            p.shape == b.field.output_size
            for (_, p), b in zip(verdicts, self.branches, strict=True)
        )

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self._refresh()

    def set_branch(self, branch: int | str) -> None:
        self.branch = branch
        self._refresh()

    def set_level(self, level: int) -> None:
        self.level = level
        self._refresh()

    def set_opacity(self, opacity: float) -> None:
        self.opacity = max(0.0, min(1.0, opacity))
        self.changed.emit()

    def set_probe(self, probe: tuple[float, float]) -> None:
        self.probe = probe
        self.changed.emit()

    def branch_labels(self) -> list[tuple[str, int | str]]:
        """(text, value) for the branch selector; the combined view last when there are
        several branches."""
        items: list[tuple[str, int | str]] = [(b.label, i) for i, b in enumerate(self.branches)]
        if len(self.branches) > 1:
            items.append((COMBINED_LABEL, COMBINED))
        return items

    def level_labels(self) -> list[tuple[str, int]]:
        r = self.resolution
        return [(level_label((r >> level, r >> level)), level) for level in self.levels]

    # -- hover -------------------------------------------------------------------------------

    def hover(self, fractions: tuple[float, float] | None) -> None:
        """The pointer is at (y, x) image fractions over the result, or gone (None)."""
        self._hover_at = fractions
        self._update_hover()

    def _update_hover(self) -> None:
        cells: list[Cell] = []
        if self.mode == VERDICTS and self.verdicts is not None and self._hover_at is not None:
            y, x = (f * self.resolution for f in self._hover_at)
            every = cells_at(self.verdicts, self.branches, y, x)
            cells = every if self.branch == COMBINED else [every[int(self.branch)]]
        if cells != self.hover_cells:
            self.hover_cells = cells
            self.hoverChanged.emit(cells)
            self.changed.emit()

    # -- the picture -------------------------------------------------------------------------

    def values(self) -> np.ndarray | None:
        """The verdict view per model pixel (probability of looking real), or None."""
        if self.verdicts is None:
            return None
        if self.branch == COMBINED:
            return combined_map(self.verdicts, self.branches)
        i = int(self.branch)
        return pixel_map(self.verdicts[i], self.branches[i].field)

    def heatmap(self) -> QImage | None:
        """The coloured layer (model resolution, RGBA) for the current mode, or None."""
        return self._heatmap

    def weights(self) -> np.ndarray | None:
        if self.attention is None or self.level not in self.attention:
            return None
        return self.attention[self.level]

    def _refresh(self) -> None:
        self._heatmap = None
        self.scale = None
        if self.mode == VERDICTS and (values := self.values()) is not None:
            # one score for the whole picture: an absolute scale around "undecided"
            self.scale = (0.5, 0.5) if self.global_score() is not None else verdict_scale(values)
            self._heatmap = rgba_to_qimage(centred_rgba(values, *self.scale))
        elif self.mode == PROBE and (weights := self.weights()) is not None:
            self._heatmap = rgba_to_qimage(attention_rgba(weights, self.resolution))
        self._update_hover()
        self.changed.emit()

    def global_score(self) -> float | None:
        """The single score of the selected branch when it is the global one."""
        if self.verdicts is None or self.branch == COMBINED:
            return None
        i = int(self.branch)
        return float(self.verdicts[i][0, 0]) if self.branches[i].is_global else None

    def paint(self, painter: QPainter, rect: QRectF, visible: QRectF | None = None) -> None:
        """Draw over the picture lying in `rect` (the view's target rectangle), of which
        `visible` is shown (all of it by default)."""
        visible = rect if visible is None else visible
        if self.mode == OFF or self._heatmap is None:
            return
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        painter.setOpacity(self.opacity)
        painter.drawImage(rect, self._heatmap)
        painter.setOpacity(1.0)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self.mode == VERDICTS:
            self._paint_cells(painter, rect)
            if (score := self.global_score()) is not None:
                _badge(painter, visible, f"global: {score:.2f} ({verdict_word(score)})")
        else:
            self._paint_probe(painter, rect)
        painter.restore()

    def to_view(self, rect: QRectF, top: float, left: float, bottom: float, right: float):
        s = rect.width() / self.resolution
        return QRectF(
            rect.x() + left * s, rect.y() + top * s, (right - left) * s, (bottom - top) * s
        )

    def _paint_cells(self, painter: QPainter, rect: QRectF) -> None:
        painter.setBrush(Qt.BrushStyle.NoBrush)
        shown = [c for c in self.hover_cells if not c.is_global or len(self.hover_cells) == 1]
        for n, cell in enumerate(shown):
            box = self.to_view(rect, *cell.window).adjusted(1, 1, -1, -1)
            painter.setPen(QPen(QColor(0, 0, 0), 3))
            painter.drawRect(box)
            painter.setPen(QPen(QColor(255, 255, 255), 1.5, _DASHES[n % len(_DASHES)]))
            painter.drawRect(box)

    def _paint_probe(self, painter: QPainter, rect: QRectF) -> None:
        weights = self.weights()
        if weights is None:
            return
        index = probe_cell(self.probe, weights.shape)
        cell = self.to_view(rect, *feature_rect(index, weights.shape, self.resolution))
        point = QPointF(
            rect.x() + self.probe[1] * rect.width(), rect.y() + self.probe[0] * rect.height()
        )
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for color, width in ((QColor(0, 0, 0), 3.5), (QColor(255, 255, 255), 1.5)):
            painter.setPen(QPen(color, width))
            painter.drawRect(cell)
            painter.drawEllipse(point, 7, 7)
            painter.drawLine(point - QPointF(12, 0), point - QPointF(4, 0))
            painter.drawLine(point + QPointF(4, 0), point + QPointF(12, 0))
            painter.drawLine(point - QPointF(0, 12), point - QPointF(0, 4))
            painter.drawLine(point + QPointF(0, 4), point + QPointF(0, 12))


def _badge(painter: QPainter, rect: QRectF, text: str) -> None:
    font = QFont(painter.font())
    font.setBold(True)
    painter.setFont(font)
    metrics = painter.fontMetrics()
    box = QRectF(
        rect.x() + 8, rect.y() + 8, metrics.horizontalAdvance(text) + 16, metrics.height() + 8
    )
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(0, 0, 0, 170))
    painter.drawRoundedRect(box, 4, 4)
    painter.setPen(QColor(255, 255, 255))
    painter.drawText(box, int(Qt.AlignmentFlag.AlignCenter), text)
