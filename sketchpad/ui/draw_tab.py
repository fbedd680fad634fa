"""The Draw tab: a tool bar (brush, eraser, size, Live, Generate, Variations) over the canvas
and the result side by side, resizing together."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QCheckBox,
    QLabel,
    QPushButton,
    QSpinBox,
    QSplitter,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from sketchpad.ui.canvas import BRUSH, ERASER, MAX_BRUSH, MIN_BRUSH, SketchCanvas
from sketchpad.ui.result_view import ResultView


class DrawTab(QWidget):
    generateRequested = Signal()
    variationRequested = Signal()
    liveToggled = Signal(bool)

    def __init__(self, undo_stack: QUndoStack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = SketchCanvas(undo_stack)
        self.result_view = ResultView()

        self.brush_action = QAction("Brush", self, checkable=True, shortcut=QKeySequence("B"))
        self.eraser_action = QAction("Eraser", self, checkable=True, shortcut=QKeySequence("E"))
        self.brush_action.setToolTip("Brush (B)")
        self.eraser_action.setToolTip("Eraser (E; the right mouse button or the stylus' eraser)")
        tools = QActionGroup(self)
        tools.addAction(self.brush_action)
        tools.addAction(self.eraser_action)
        self.brush_action.setChecked(True)
        self.brush_action.triggered.connect(lambda: self.canvas.set_tool(BRUSH))
        self.eraser_action.triggered.connect(lambda: self.canvas.set_tool(ERASER))
        self.canvas.toolChanged.connect(self._show_tool)

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
        self.variations_button = QPushButton("Variations")
        self.variations_button.setToolTip("Another picture of the same sketch (new noise)")
        self.variations_button.clicked.connect(self.variationRequested)
        self.variations_button.setVisible(False)
        for w in (self.live_box, self.generate_button, self.variations_button):
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)

        bar = QToolBar("Tools")
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        bar.addAction(self.brush_action)
        bar.addAction(self.eraser_action)
        bar.addWidget(QLabel(" Size "))
        bar.addWidget(self.size_box)
        bar.addSeparator()
        bar.addWidget(self.live_box)
        bar.addWidget(self.generate_button)
        bar.addWidget(self.variations_button)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.canvas)
        self.splitter.addWidget(self.result_view)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 0, 4, 4)
        layout.addWidget(bar)
        layout.addWidget(self.splitter, 1)

    @property
    def live(self) -> bool:
        return self.live_box.isChecked()

    def set_takes_noise(self, takes_noise: bool) -> None:
        self.variations_button.setVisible(takes_noise)

    def _on_live(self, on: bool) -> None:
        self.generate_button.setEnabled(not on)
        self.liveToggled.emit(on)

    def _show_tool(self, tool: str) -> None:
        (self.brush_action if tool == BRUSH else self.eraser_action).setChecked(True)
