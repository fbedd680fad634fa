"""Help: the first-run tip, the keyboard shortcuts dialog and About Sketchpad.

The shortcuts dialog is built, each time it opens, from the window's own QActions that have
a shortcut (whoever added them, whenever), plus the mouse gestures, so it cannot go stale."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from sketchpad import __version__
from sketchpad.checkpoint import read_metadata
from sketchpad.errors import SketchpadError

if TYPE_CHECKING:
    from sketchpad.ui.jobs import ModelInfo

FIRST_RUN_TIP = "Draw on the left canvas to start; Help ▸ Examples has sketches, F1 the shortcuts"

GESTURES = (
    ("Left-drag on the canvas", "Draw with the current tool"),
    ("Right-drag on the canvas", "Erase (the ink, or the hints after the Colour tool)"),
    ("Alt + click on the canvas or the picture", "Pick that colour for the hints"),
    ("Ctrl + mouse wheel", "Zoom the canvas"),
    ("Space + drag, or middle-drag", "Pan the canvas"),
    ("Drop a picture on the canvas", "Open it as the sketch"),
)

CREDITS = (
    ("SketchyGAN (Chen & Hays, 2018)", "Masked Residual Units, the generator's building block"),
    ("SAGAN (Zhang et al., 2019)", "self-attention, here conditioned on the sketch"),
    ("pix2pix (Isola et al., 2017) and pix2pixHD (Wang et al., 2018)", "PatchGAN judges"),
    (
        "OpenMoji (openmoji.org), CC BY-SA 4.0",
        "the drawings the default model and the examples come from",
    ),
    ("Qt and PySide6 (The Qt Company, LGPL)", "the window"),
    ("PyTorch", "the networks"),
)


def action_name(action: QAction) -> str:
    """The action's menu text without its & mnemonic and trailing ellipsis (or its fixed
    "shortcut_name" property, for actions whose text changes: Undo Stroke, Redo Clear)."""
    fixed = action.property("shortcut_name")
    if isinstance(fixed, str) and fixed:
        return fixed
    text = action.text().replace("&&", "\0").replace("&", "").replace("\0", "&")
    return text.rstrip("…").rstrip(".").strip() or action.toolTip().strip()


def shortcut_rows(window: QWidget) -> list[tuple[str, str]]:
    """(what, keys) for each QAction of `window` (and its children) that has a shortcut, in
    the order they were made; the same action listed once."""
    rows: list[tuple[str, str]] = []
    for action in window.findChildren(QAction):
        keys = [k for k in action.shortcuts() if not k.isEmpty()]
        if not keys:
            continue
        text = ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in keys)
        row = (action_name(action), text)
        if row[0] and row not in rows:
            rows.append(row)
    return rows


def _table(rows: list[tuple[str, str]], headers: tuple[str, str]) -> QTableWidget:
    table = QTableWidget(len(rows), 2)
    table.setHorizontalHeaderLabels(list(headers))
    table.verticalHeader().hide()
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QTableWidget.SelectionMode.NoSelection)
    table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    table.setShowGrid(False)
    table.setAlternatingRowColors(True)
    for r, (a, b) in enumerate(rows):
        table.setItem(r, 0, QTableWidgetItem(a))
        table.setItem(r, 1, QTableWidgetItem(b))
    header = table.horizontalHeader()
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
    table.resizeRowsToContents()
    return table


def _content_width(table: QTableWidget) -> int:
    """How wide `table` must be to show every cell whole (and a vertical scroll bar)."""
    header = table.horizontalHeader()
    columns = sum(
        max(table.sizeHintForColumn(c), header.sectionSizeHint(c))
        for c in range(table.columnCount())
    )
    return columns + 2 * table.frameWidth() + table.verticalScrollBar().sizeHint().width()


def _fit_height(table: QTableWidget, limit: int) -> None:
    """Tall enough to show every row without scrolling, up to `limit` px (then it scrolls)."""
    height = table.verticalHeader().length() + table.horizontalHeader().height()
    table.setMinimumHeight(min(height + 2 * table.frameWidth() + 2, limit))
    table.setMaximumHeight(max(table.minimumHeight(), height + 2 * table.frameWidth() + 2))


class ShortcutsDialog(QDialog):
    """Every keyboard shortcut of `window` and the mouse gestures."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.setWindowTitle("Keyboard shortcuts")
        self.rows = shortcut_rows(window)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<b>Keys</b>"))
        self.keys_table = _table([(b, a) for a, b in self.rows], ("Keys", "Does"))
        _fit_height(self.keys_table, limit=620)
        layout.addWidget(self.keys_table, 3)
        layout.addWidget(QLabel("<b>Mouse</b>"))
        self.mouse_table = _table(list(GESTURES), ("Gesture", "Does"))
        _fit_height(self.mouse_table, limit=240)
        layout.addWidget(self.mouse_table, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout.addWidget(buttons)
        margins = layout.contentsMargins()
        wide = max(_content_width(t) for t in (self.keys_table, self.mouse_table))
        self.setMinimumWidth(wide + margins.left() + margins.right())  # no row is cut
        self.resize(max(560, self.minimumWidth()), self.sizeHint().height())


def model_card(info: ModelInfo | None) -> Path | None:
    """The model card beside the model file (MODEL_CARD.md), if there is one."""
    if info is None:
        return None
    card = Path(info.path).resolve().parent / "MODEL_CARD.md"
    return card if card.is_file() else None


def model_description(info: ModelInfo | None) -> str:
    """The description the model file carries ("" when none, or the file changed since)."""
    if info is None:
        return ""
    try:
        return str(read_metadata(info.path).get("description", ""))
    except (SketchpadError, OSError):
        return ""


def about_html(info: ModelInfo | None, device: str) -> str:
    """About Sketchpad's text: the version, the model in use and its card, the device, the
    credits."""
    e = html.escape
    description = model_description(info)
    if info is None:
        model = "<p><b>Model:</b> none loaded (Model ▸ Open model…)</p>"
    else:
        model = f"<p><b>Model:</b> {e(info.name)} ({info.resolution} px)"
        if description:
            model += f"<br>{e(description)}"
        card = model_card(info)
        if card is not None:
            model += f'<br>Model card: <a href="{card.as_uri()}">{e(card.name)}</a>'
        model += "</p>"
    credits = "".join(f"<li><b>{e(who)}</b>: {e(what)}</li>" for who, what in CREDITS)
    return (
        f"<h3>Sketchpad {e(__version__)}</h3>"
        "<p>Draw lines; a GAN paints them while you draw.</p>"
        f"{model}<p><b>Device:</b> {e(device or 'not started')}</p>"
        f"<p><b>Built on</b></p><ul>{credits}</ul>"
        "<p>Sketchpad is free software under the MIT licence.</p>"
    )


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget, text: str) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Sketchpad")
        layout = QVBoxLayout(self)
        self.label = QLabel(text)
        self.label.setWordWrap(True)
        self.label.setOpenExternalLinks(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        layout.addWidget(self.label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout.addWidget(buttons)
        self.setMinimumWidth(520)
