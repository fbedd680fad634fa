"""The colour-hint tools of the Draw tab: the Colour tool (H), the hint colour and the recent
colours (`HintPalette`: the colour button opens a colour dialog; eight swatches), Show hints,
Clear hints, and Alt-click picking a colour (from the hints where there is one, else from the
picture shown for that point).

A model without hint inputs greys them, saying why; hints already drawn stay on their layer
(and in the file) but are not sent.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, QPointF, QSize, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QColor,
    QIcon,
    QKeySequence,
    QPainter,
    QPen,
    QPixmap,
    QShortcut,
)
from PySide6.QtWidgets import (
    QColorDialog,
    QGridLayout,
    QHBoxLayout,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from sketchpad.ui.canvas import COLOUR, SketchCanvas
from sketchpad.ui.result_view import ResultView

RECENT_COUNT = 8
DEFAULT_COLOURS = (
    "#4a90d9",  # sky
    "#5aa845",  # grass
    "#d93a32",  # red
    "#f2c230",  # yellow
    "#f0b890",  # skin
    "#8a5a34",  # brown
    "#f08a24",  # orange
    "#8e5cc2",  # purple
)
COLOUR_TIP = (
    "Colour hints (H): dab colours where you want them; the picture follows. Alt-click picks a "
    "colour from the hints or the picture"
)
NO_HINTS_TIP = (
    "This model has no colour-hint inputs; load one trained with hints (Model ▸ Open model…)"
)
NO_MODEL_TIP = "No model is loaded"


def swatch_icon(colour: QColor, side: int, border: QColor) -> QIcon:
    pixmap = QPixmap(side, side)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(border, 1))
    painter.setBrush(colour)
    painter.drawRoundedRect(0.5, 0.5, side - 1, side - 1, 3, 3)
    painter.end()
    return QIcon(pixmap)


class HintPalette(QWidget):
    """The hint colour (a large swatch: click for a colour dialog) and the recent colours
    (click one to paint with it). The swatches never move under the pointer: clicking one
    only selects it; a colour not in the row yet (from the dialog, an Alt-click) takes the
    slot of the least recently used one, in place."""

    colourChosen = Signal(QColor)
    recentChanged = Signal(list)
    """The recent colours (as "#rrggbb" names, in the row's order), to remember."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ask_colour: Callable[[QColor], QColor | None] = self._colour_dialog
        """Asks the user for a colour (tests replace it: a dialog would block)."""
        self._colour = QColor(DEFAULT_COLOURS[0])
        self._recent = [QColor(c) for c in DEFAULT_COLOURS]
        self._used: list[str] = []
        """The names of the row's colours, least recently used first."""
        self.colour_button = QToolButton()
        self.colour_button.setIconSize(QSize(40, 40))
        self.colour_button.setToolTip("The hint colour: click to choose another")
        self.colour_button.clicked.connect(self.choose)
        self.swatches: list[QToolButton] = []
        grid = QGridLayout()
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(3)
        for i in range(RECENT_COUNT):
            button = QToolButton()
            button.setIconSize(QSize(20, 20))
            button.setAutoRaise(True)
            button.setCheckable(True)
            button.clicked.connect(lambda _=False, n=i: self.set_colour(self._recent[n]))
            grid.addWidget(button, i // 4, i % 4)
            self.swatches.append(button)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.colour_button)
        layout.addLayout(grid)
        for button in (self.colour_button, *self.swatches):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._rank_by_row()
        self._show()

    @property
    def colour(self) -> QColor:
        return QColor(self._colour)

    def recent(self) -> list[QColor]:
        """The recent colours in the row's order (the slots do not move)."""
        return [QColor(c) for c in self._recent]

    def set_recent(self, names: Sequence[str], current: str = "") -> None:
        """The remembered recent colours, in the row's order (invalid names skipped; the
        defaults fill up), and the one in use (`current`, else the first)."""
        colours: list[QColor] = []
        for name in (*names, *DEFAULT_COLOURS):
            colour = QColor(name)
            if colour.isValid() and all(c.name() != colour.name() for c in colours):
                colours.append(colour)
        self._recent = colours[:RECENT_COUNT]
        chosen = QColor(current)
        in_row = chosen.isValid() and any(c.name() == chosen.name() for c in self._recent)
        self._colour = QColor(chosen if in_row else self._recent[0])
        self._rank_by_row()
        self._show()
        self.colourChosen.emit(self.colour)

    def set_colour(self, colour: QColor) -> None:
        """Paint with `colour` from now on. A colour of the row is only selected; a new one
        is appended while there is room, else replaces the least recently used colour in
        its slot."""
        colour = QColor(colour.red(), colour.green(), colour.blue())
        name = colour.name()
        self._colour = colour
        names = [c.name() for c in self._recent]
        if name not in names:
            if len(self._recent) < RECENT_COUNT:
                self._recent.append(colour)
            else:
                oldest = self._used.pop(0)
                self._recent[names.index(oldest)] = colour
        self._used = [n for n in self._used if n != name] + [name]
        self._show()
        self.colourChosen.emit(QColor(colour))
        self.recentChanged.emit([c.name() for c in self._recent])

    def _rank_by_row(self) -> None:
        """Without a history: the colour in use is the newest, then the row from its start
        (the last slot is the first to be replaced)."""
        names = [c.name() for c in self._recent]
        current = self._colour.name()
        self._used = [n for n in reversed(names) if n != current]
        if current in names:
            self._used.append(current)

    def choose(self) -> None:
        colour = self.ask_colour(self._colour)
        if colour is not None and colour.isValid():
            self.set_colour(colour)

    def _colour_dialog(self, initial: QColor) -> QColor | None:
        colour = QColorDialog.getColor(initial, self, "Hint colour")
        return colour if colour.isValid() else None

    def _show(self) -> None:
        border = self.palette().mid().color()
        self.colour_button.setIcon(swatch_icon(self._colour, 40, border))
        for i, button in enumerate(self.swatches):
            colour = self._recent[i] if i < len(self._recent) else None
            button.setVisible(colour is not None)
            if colour is None:
                continue
            button.setIcon(swatch_icon(colour, 20, border))
            button.setToolTip(f"{colour.name()}: paint hints in this colour")
            button.setChecked(colour.name() == self._colour.name())


class HintTools(QObject):
    """The actions and the palette row of the colour hints, bound to the canvas and to the
    result view (for Alt-click)."""

    status = Signal(str)
    """A line for the status bar (what was picked, why nothing was)."""

    def __init__(self, canvas: SketchCanvas, result_view: ResultView, parent: QObject) -> None:
        super().__init__(parent)
        self.canvas, self.result_view = canvas, result_view
        self.colour_action = QAction("Colour hints", self, checkable=True)
        self.colour_action.setShortcut(QKeySequence("H"))
        self._refused_key = QShortcut(QKeySequence("H"), canvas)
        """H while the Colour tool is greyed: the status bar says why (on only then)."""
        self._refused_key.setContext(Qt.ShortcutContext.WindowShortcut)
        self._refused_key.activated.connect(self._say_unavailable)
        self.show_action = QAction("Show hints", self, checkable=True, checked=True)
        self.show_action.setShortcut(QKeySequence("Shift+H"))
        self.show_action.setToolTip(
            "Show the colour hints (Shift+H); hidden hints are not sent, to compare without them"
        )
        self.clear_action = QAction("Clear hints", self)
        self.clear_action.setShortcut(QKeySequence("Ctrl+Shift+Delete"))
        self.clear_action.setToolTip("Remove every colour hint (Ctrl+Shift+Delete; undoable)")
        self.palette = HintPalette()
        self.palette.colourChosen.connect(canvas.set_hint_colour)
        canvas.set_hint_colour(self.palette.colour)
        self.colour_action.triggered.connect(lambda: canvas.set_tool(COLOUR))
        self.show_action.toggled.connect(canvas.set_hints_shown)
        canvas.hintsShownChanged.connect(self.show_action.setChecked)
        self.clear_action.triggered.connect(canvas.clear_hints)
        canvas.pickRequested.connect(self.pick_on_canvas)
        result_view.picked.connect(self.pick_on_result)
        self.set_available(None)

    def row(self) -> QWidget:
        """The strip under the canvas: the palette, Show hints and Clear hints."""
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.addWidget(self.palette)
        buttons = QVBoxLayout()
        buttons.setSpacing(2)
        for action in (self.show_action, self.clear_action):
            button = QToolButton()
            button.setDefaultAction(action)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            buttons.addWidget(button)
        layout.addLayout(buttons)
        layout.addStretch(1)
        return row

    def set_available(self, takes_hints: bool | None) -> None:
        """The model takes hints (True), has none (False) or there is no model (None)."""
        on = bool(takes_hints)
        self.canvas.set_hints_enabled(on)
        tip = COLOUR_TIP if on else NO_MODEL_TIP if takes_hints is None else NO_HINTS_TIP
        self.colour_action.setEnabled(on)
        self.colour_action.setToolTip(tip)
        self._refused_key.setEnabled(not on)
        self.palette.setEnabled(on)
        self.palette.setToolTip("" if on else tip)
        if not on and self.colour_action.isChecked():
            self.colour_action.setChecked(False)

    def _say_unavailable(self) -> None:
        tip = self.colour_action.toolTip()
        self.status.emit(f"Colour hints (H) unavailable: {tip[:1].lower()}{tip[1:]}")

    # -- picking -----------------------------------------------------------------------------

    def pick_on_canvas(self, point: QPointF) -> None:
        """Alt-click on the canvas: the hint's colour there, else the picture's."""
        colour = self.canvas.hint_colour_at(point)
        where = "the hints"
        if colour is None:
            side = self.canvas.side
            colour = self.result_view.colour_at((point.y() / side, point.x() / side))
            where = "the picture"
        self._picked(colour, where)

    def pick_on_result(self, where: tuple[float, float]) -> None:
        self._picked(self.result_view.colour_at(where), "the picture")

    def _picked(self, colour: QColor | None, where: str) -> None:
        if not self.canvas.hints_enabled:
            self.status.emit(NO_HINTS_TIP)
            return
        if colour is None:
            self.status.emit("No colour to pick there: no hint and no picture yet")
            return
        self.palette.set_colour(colour)
        self.canvas.set_tool(COLOUR)
        self.status.emit(f"Picked {colour.name()} from {where}: the Colour tool paints with it")
