"""The Draw tab: a tool bar (brush, eraser, colour hints, size, Live, Generate, New variations,
and the overlay toggles Verdicts and Probe) over the canvas and the result side by side, resizing
together and sharing one zoom and pan. Strips of fixed height under each keep the two pictures
the same size: under the canvas the hint colours (`HintTools`) and the zoom, under the result
the variations (`VariationStrip`) and the overlay's selector, opacity and legend (a line
about the overlays while none is on). The hint and variation strips show for a model that
takes hints or noise."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from sketchpad.ui.canvas import BRUSH, COLOUR, ERASER, MAX_BRUSH, MIN_BRUSH, SketchCanvas
from sketchpad.ui.hint_tools import HintTools
from sketchpad.ui.overlay import OFF, PROBE, VERDICTS, ResultOverlay
from sketchpad.ui.overlay_panel import OverlayPanel
from sketchpad.ui.result_view import ResultView
from sketchpad.ui.strokes import HINT_LAYER
from sketchpad.ui.variations import VariationStrip, dice_icon
from sketchpad.ui.view_transform import WHEEL_STEP, ViewTransform
from sketchpad.verdicts import Cell, describe_cells

VERDICTS_TIP = (
    "Verdicts (V): where the discriminator finds a patch of the result faker (blue) or more "
    "real (orange) than most; hover a patch to see what it looked at"
)
PROBE_TIP = (
    "Attention probe (P): click a point of the result to see where the generator's "
    "self-attention looked when it painted it"
)
NO_MODEL_TIP = "No model is loaded"
NO_DISCRIMINATOR_TIP = (
    "Verdicts unavailable: this model file has no discriminator (it holds the generator only)"
)
NO_ATTENTION_TIP = "Attention probe unavailable: this model's generator has no self-attention"


class DrawTab(QWidget):
    generateRequested = Signal()
    variationRequested = Signal()
    liveToggled = Signal(bool)
    overlayRequestChanged = Signal(bool, object)
    """What the pictures must now come with: (want_verdicts, probe (y, x) fractions or None)."""
    overlayStatus = Signal(str)
    """A line for the status bar: the hovered verdict cell(s), or where the attention is
    probed ("" to clear it)."""
    toolStatus = Signal(str)
    """A passing line for the status bar about the tools (what the eraser erases, a pick)."""

    def __init__(self, undo_stack: QUndoStack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = ViewTransform(self)
        """Zoom and pan, shared by the canvas and the result view."""
        self.canvas = SketchCanvas(undo_stack, view=self.view)
        self.result_view = ResultView(view=self.view)
        self._make_zoom_actions()

        self.brush_action = QAction("Brush", self, checkable=True, shortcut=QKeySequence("B"))
        self.eraser_action = QAction("Eraser", self, checkable=True, shortcut=QKeySequence("E"))
        self.brush_action.setToolTip("Brush (B): draws the lines")
        self.hints = HintTools(self.canvas, self.result_view, self)
        self.hints.status.connect(self.toolStatus)
        self.colour_action = self.hints.colour_action
        tools = QActionGroup(self)
        tools.addAction(self.brush_action)
        tools.addAction(self.eraser_action)
        tools.addAction(self.colour_action)
        self.addActions([self.hints.show_action, self.hints.clear_action])
        self.brush_action.setChecked(True)
        self.brush_action.triggered.connect(lambda: self.canvas.set_tool(BRUSH))
        self.eraser_action.triggered.connect(lambda: self.canvas.set_tool(ERASER))
        self.canvas.toolChanged.connect(self._show_tool)
        self._show_tool(self.canvas.tool)

        self.smaller_action = QAction("Smaller brush", self, shortcut=QKeySequence("["))
        self.larger_action = QAction("Larger brush", self, shortcut=QKeySequence("]"))
        self.smaller_action.triggered.connect(lambda: self.canvas.grow_brush(-1))
        self.larger_action.triggered.connect(lambda: self.canvas.grow_brush(1))
        self.addActions([self.smaller_action, self.larger_action])

        self.size_box = QSpinBox()
        self.size_box.setRange(MIN_BRUSH, MAX_BRUSH)
        self.size_box.setSuffix(" px")
        self.size_box.setToolTip("Brush size in canvas pixels ([ and ])")
        self.size_box.setValue(self.canvas.brush_size)
        self.size_box.valueChanged.connect(self.canvas.set_brush_size)
        self.canvas.brushSizeChanged.connect(self.size_box.setValue)
        self.size_box.setFocusPolicy(Qt.FocusPolicy.ClickFocus)

        self.live_box = QCheckBox("Live")
        self.live_box.setChecked(True)
        self.live_box.setToolTip("Generate while you draw")
        self.live_box.toggled.connect(self._on_live)
        self.generate_button = QPushButton("Generate")
        self.generate_button.setToolTip("Generate a picture of the sketch (Ctrl+Return)")
        self.generate_button.setEnabled(False)
        self.generate_button.clicked.connect(self.generateRequested)
        self.reroll_action = QAction(dice_icon(), "New variations", self)
        self.reroll_action.setShortcut(QKeySequence("Ctrl+R"))
        self.reroll_action.setToolTip("Four new variations of this sketch (Ctrl+R)")
        self.reroll_action.setEnabled(False)
        self.reroll_action.triggered.connect(self.variationRequested)
        self.addAction(self.reroll_action)
        self.variations_button = QPushButton(self.reroll_action.text())  # "New variations"
        self.variations_button.setToolTip(self.reroll_action.toolTip())
        self.variations_button.clicked.connect(self.reroll_action.trigger)
        for w in (self.live_box, self.generate_button, self.variations_button):
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)

        self.overlay = ResultOverlay(self)
        self.overlay_panel = OverlayPanel()
        self.result_view.set_overlay(self.overlay)
        self.verdicts_action = QAction("Verdicts", self, checkable=True, shortcut=QKeySequence("V"))
        self.probe_action = QAction("Probe", self, checkable=True, shortcut=QKeySequence("P"))
        overlays = QActionGroup(self)
        overlays.setExclusionPolicy(QActionGroup.ExclusionPolicy.ExclusiveOptional)
        for action in (self.verdicts_action, self.probe_action):
            overlays.addAction(action)
            action.toggled.connect(self._on_overlay_toggled)
        self._set_overlay_tips(None, None)

        bar = QToolBar("Tools")
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        bar.addAction(self.brush_action)
        bar.addAction(self.eraser_action)
        bar.addAction(self.colour_action)
        bar.addWidget(QLabel(" Size "))
        bar.addWidget(self.size_box)
        bar.addSeparator()
        bar.addWidget(self.live_box)
        bar.addWidget(self.generate_button)
        # A widget in a tool bar is shown and hidden through the action addWidget returns.
        self.variations_widget_action = bar.addWidget(self.variations_button)
        self.variations_widget_action.setVisible(False)
        bar.addSeparator()
        bar.addAction(self.verdicts_action)
        bar.addAction(self.probe_action)

        self.result_pane = QWidget()
        pane = QVBoxLayout(self.result_pane)
        pane.setContentsMargins(0, 0, 0, 0)
        pane.setSpacing(0)
        self.variation_strip = VariationStrip(self.reroll_action)
        pane.addWidget(self.result_view, 1)
        pane.addWidget(self.variation_strip)
        pane.addWidget(self.overlay_panel)

        self.canvas_pane = QWidget()
        pane = QVBoxLayout(self.canvas_pane)
        pane.setContentsMargins(0, 0, 0, 0)
        pane.setSpacing(0)
        self.hint_row = self.hints.row()
        pane.addWidget(self.canvas, 1)
        pane.addWidget(self.hint_row)
        pane.addWidget(self._zoom_strip())
        height = max(self.hint_row.sizeHint().height(), self.variation_strip.sizeHint().height())
        for row in (self.hint_row, self.variation_strip):
            row.setFixedHeight(height)  # the two pictures stay the same size
        self._set_model_inputs(False, False)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.canvas_pane)
        self.splitter.addWidget(self.result_pane)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([1000, 1000])  # half each, whatever the panes' size hints

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 4)
        layout.addWidget(bar)
        layout.addWidget(self.splitter, 1)

        self.overlay.changed.connect(self.result_view.update)
        self.overlay.changed.connect(self._update_legend)
        self.overlay.hoverChanged.connect(self._on_hover)
        self.result_view.pointerMoved.connect(self.overlay.hover)
        self.result_view.clicked.connect(self._on_result_clicked)
        self.overlay_panel.branchChosen.connect(self.overlay.set_branch)
        self.overlay_panel.levelChosen.connect(self.overlay.set_level)
        self.overlay_panel.opacityChanged.connect(self.overlay.set_opacity)
        self.overlay.set_opacity(self.overlay_panel.opacity)

    # -- zoom --------------------------------------------------------------------------------

    def _make_zoom_actions(self) -> None:
        """Fit (Ctrl+0), zoom in and out about the centre; window-wide shortcuts owned here,
        so that a list of the window's actions shows them."""
        self.fit_action = QAction("Fit to window", self, shortcut=QKeySequence("Ctrl+0"))
        self.fit_action.setToolTip("Show the whole sketch and picture (Ctrl+0)")
        self.fit_action.triggered.connect(self.view.fit)
        self.zoom_in_action = QAction("Zoom in", self)
        self.zoom_in_action.setShortcuts([QKeySequence("Ctrl++"), QKeySequence("Ctrl+=")])
        self.zoom_in_action.triggered.connect(lambda: self.zoom_by(WHEEL_STEP))
        self.zoom_out_action = QAction("Zoom out", self, shortcut=QKeySequence("Ctrl+-"))
        self.zoom_out_action.triggered.connect(lambda: self.zoom_by(1 / WHEEL_STEP))
        for action in (self.fit_action, self.zoom_in_action, self.zoom_out_action):
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            self.addAction(action)
        self.view.changed.connect(self._show_zoom)

    def zoom_by(self, factor: float) -> None:
        """Zoom both views about the centre of what they show."""
        self.view.set_view(self.view.zoom * factor, self.view.centre)

    def _zoom_strip(self) -> QWidget:
        strip = QWidget()
        row = QHBoxLayout(strip)
        row.setContentsMargins(4, 4, 4, 2)
        self.zoom_label = QLabel()
        self.zoom_label.setEnabled(False)  # quiet, in the disabled text colour
        self.zoom_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        fit = QToolButton()
        fit.setDefaultAction(self.fit_action)
        fit.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        row.addWidget(self.zoom_label, 1)
        row.addWidget(fit)
        strip.setFixedHeight(self.overlay_panel.maximumHeight())
        self._show_zoom()
        return strip

    def _show_zoom(self) -> None:
        zoom = self.view.zoom
        self.zoom_label.setText(
            "Zoom: fit · Ctrl+wheel zooms, space-drag or middle-drag pans"
            if zoom == 1.0
            else f"Zoom: {100 * zoom:.0f}% · space-drag or middle-drag pans · Ctrl+0 fits"
        )
        self.fit_action.setEnabled(zoom != 1.0)

    @property
    def live(self) -> bool:
        return self.live_box.isChecked()

    def set_model_inputs(self, takes_hints: bool, takes_noise: bool) -> None:
        """A model was loaded: the hint tools for one with hint inputs, the variations for
        one with noise."""
        self.hints.set_available(takes_hints)
        self._set_model_inputs(takes_hints, takes_noise)

    def _set_model_inputs(self, takes_hints: bool, takes_noise: bool) -> None:
        self.variations_widget_action.setVisible(takes_noise)
        self.reroll_action.setEnabled(takes_noise)
        self.variation_strip.set_available(takes_noise)
        for row in (self.hint_row, self.variation_strip):
            row.setVisible(takes_hints or takes_noise)

    # -- overlays ----------------------------------------------------------------------------

    @property
    def overlay_mode(self) -> str:
        return self.overlay.mode

    def set_overlay_model(self, branches, attention_levels, resolution: int) -> None:
        """A model was loaded: what its discriminator and attention offer the overlays."""
        self.overlay.set_model(tuple(branches), tuple(attention_levels), resolution)
        self.overlay_panel.set_choices(self.overlay.branch_labels(), self.overlay.level_labels())
        self._set_overlay_tips(bool(branches), bool(attention_levels))
        self.overlay_panel.set_mode(self.overlay.mode)

    def show_overlay_result(self, verdicts, attention, probe) -> None:
        """A new picture arrived with these verdicts / attention (None when not asked for)."""
        if probe is not None:
            self.overlay.set_probe(probe)
        self.overlay.set_result(verdicts, attention)

    def _set_overlay_tips(self, verdicts: bool | None, attention: bool | None) -> None:
        for action, ok, tip, unavailable in (
            (self.verdicts_action, verdicts, VERDICTS_TIP, NO_DISCRIMINATOR_TIP),
            (self.probe_action, attention, PROBE_TIP, NO_ATTENTION_TIP),
        ):
            if not ok and action.isChecked():
                action.setChecked(False)
            action.setEnabled(bool(ok))
            action.setToolTip(tip if ok else NO_MODEL_TIP if ok is None else unavailable)

    def _on_overlay_toggled(self) -> None:
        mode = (
            VERDICTS
            if self.verdicts_action.isChecked()
            else PROBE
            if self.probe_action.isChecked()
            else OFF
        )
        if mode == self.overlay.mode:
            return
        self.overlay.set_mode(mode)
        self.overlay_panel.set_mode(mode)
        self._update_legend()
        cursor = Qt.CursorShape.CrossCursor if mode == PROBE else Qt.CursorShape.ArrowCursor
        self.result_view.setCursor(cursor)
        self.overlayRequestChanged.emit(
            mode == VERDICTS, self.overlay.probe if mode == PROBE else None
        )
        if mode == PROBE:
            self.overlayStatus.emit("Attention probe: click the result where you want to look")
        elif mode == OFF:
            self.overlayStatus.emit("")

    def _on_result_clicked(self, where: tuple[float, float]) -> None:
        if self.overlay.mode == PROBE:
            self.overlay.set_probe(where)
            self.overlayRequestChanged.emit(False, where)
            y, x = where
            self.overlayStatus.emit(
                f"Attention probe at {100 * x:.0f}% across, {100 * y:.0f}% down: the heatmap "
                "shows where the generator's self-attention looked to paint that point"
            )

    def _on_hover(self, cells: list[Cell]) -> None:
        scale = self.canvas.side / max(1, self.overlay.resolution)
        shown = [c for c in cells if not c.is_global or len(cells) == 1]
        self.canvas.set_highlights(
            [
                QRectF(left * scale, top * scale, (right - left) * scale, (bottom - top) * scale)
                for top, left, bottom, right in (c.window for c in shown)
            ]
        )
        marker = sum(c.score for c in cells) / len(cells) if cells else None
        self.overlay_panel.legend.set_marker(marker)
        self.overlayStatus.emit(describe_cells(cells))

    def _update_legend(self) -> None:
        if self.overlay.scale is not None:
            whole = self.overlay.global_score() is not None
            self.overlay_panel.legend.set_range(*self.overlay.scale, whole=whole)

    def _on_live(self, on: bool) -> None:
        self.generate_button.setEnabled(not on)
        self.liveToggled.emit(on)

    def _show_tool(self, tool: str) -> None:
        action = {BRUSH: self.brush_action, ERASER: self.eraser_action}.get(tool)
        (action or self.colour_action).setChecked(True)
        layer = "colour hints" if self.canvas.active_layer == HINT_LAYER else "ink"
        self.eraser_action.setToolTip(
            f"Eraser (E): erases the {layer}, the layer of the last drawing tool (Brush: the "
            "ink, Colour hints: the hints); the right mouse button or the stylus' eraser "
            "erases it too"
        )
        if tool == ERASER:
            self.toolStatus.emit(f"Eraser: erases the {layer} (the last drawing tool's layer)")
        elif tool == COLOUR:
            self.toolStatus.emit(
                "Colour hints: dab colours; right-drag erases hints, Alt-click picks a colour"
            )
