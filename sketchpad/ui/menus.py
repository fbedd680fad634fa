"""The main window's menus as data (`window_menus`): a list of `Menu`s, each a list of rows,
that `build_menu_bar` turns into QMenus and QActions. A row's `keep` names the attribute of
the owner (the window) that holds what it built, for the code and tests that use it later."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar

if TYPE_CHECKING:
    from sketchpad.ui.main_window import MainWindow

DEVICES = (("auto", "Auto"), ("cpu", "CPU"), ("cuda", "CUDA"))

Shortcut = str | tuple[str, ...] | None


@dataclass(frozen=True)
class Item:
    """A new action: `text` (with its & mnemonic), what it does, its shortcut(s)."""

    text: str
    slot: Callable[[], object]
    shortcut: Shortcut = None
    keep: str | None = None
    enabled: bool | Callable[[], bool] = True
    """A callable is asked again each time the menu opens."""


@dataclass(frozen=True)
class Existing:
    """An action made elsewhere (a tab's tool, the undo stack's Undo), with its shortcut(s)
    when given here."""

    action: QAction
    shortcut: Shortcut = None
    keep: str | None = None


@dataclass(frozen=True)
class Submenu:
    """A submenu that `populate(submenu)` fills now and each time it opens."""

    text: str
    populate: Callable[[QMenu], None]
    keep: str | None = None


@dataclass(frozen=True)
class Choices:
    """A submenu of exclusive checkable actions, one per (key, text) pair, the `checked` one
    checked; a click calls `choose(key)`. `keep` holds a {key: action} dict."""

    text: str
    choices: Sequence[tuple[str, str]]
    choose: Callable[[str], None]
    checked: str
    keep: str
    unavailable: Callable[[str], str | None] = lambda _key: None
    """Why a choice cannot be made here (it is then greyed, the reason its tooltip), or None."""


class Separator:
    pass


SEPARATOR = Separator()
Row = Item | Existing | Submenu | Choices | Separator


@dataclass(frozen=True)
class Menu:
    title: str
    rows: Sequence[Row]


def window_menus(
    w: MainWindow,
    device: str,
    has_default_model: Callable[[], bool],
    examples_folder: Callable[[], Path],
) -> list[Menu]:
    """File, Edit, View, Model and Help of `w`; `device` is checked in Model ▸ Device."""
    doc, tab, settings = w.document, w.draw_tab, w.settings
    undo = w.undo_stack.createUndoAction(w, "&Undo")
    redo = w.undo_stack.createRedoAction(w, "&Redo")
    undo.setProperty("shortcut_name", "Undo")  # their text names the step ("Undo Stroke")
    redo.setProperty("shortcut_name", "Redo")
    file = [
        Item("&New", doc.new, "Ctrl+N", keep="new_action"),
        Item("&Open sketch…", doc.open_dialog, "Ctrl+O"),
        Submenu(
            "Open &recent",
            lambda menu: list_files(menu, settings.recent_files(), doc.open),
            keep="recent_files_menu",
        ),
        Item("&Save sketch…", doc.save, "Ctrl+S"),
        Item("Save sketch &as…", doc.save_as, "Ctrl+Shift+S"),
        SEPARATOR,
        Item("&Export result…", w.export_result, "Ctrl+E", keep="export_action"),
        Item(
            "Export side &by side…",
            w.export_side_by_side,
            "Ctrl+Shift+E",
            keep="export_pair_action",
        ),
        SEPARATOR,
        Submenu(
            "E&xamples",
            lambda menu: list_examples(menu, examples_folder(), doc.open),
            keep="examples_menu",
        ),
        SEPARATOR,
        Item("&Quit", w.close, "Ctrl+Q"),
    ]
    edit = [
        Existing(undo, "Ctrl+Z", keep="undo_action"),
        Existing(redo, ("Ctrl+Shift+Z", "Ctrl+Y"), keep="redo_action"),
        SEPARATOR,
        Item("&Clear", w.canvas.clear, "Ctrl+Delete", keep="clear_action"),
        Existing(tab.hints.clear_action),
        SEPARATOR,
        Existing(tab.brush_action),
        Existing(tab.eraser_action),
        Existing(tab.colour_action),
        Existing(tab.smaller_action),
        Existing(tab.larger_action),
        SEPARATOR,
        Item("&Generate", w.generate, "Ctrl+Return", keep="generate_action"),
        Existing(tab.reroll_action, keep="variation_action"),
    ]
    view = [
        Existing(tab.hints.show_action),
        SEPARATOR,
        Existing(tab.verdicts_action),
        Existing(tab.probe_action),
        SEPARATOR,
        Existing(tab.zoom_in_action),
        Existing(tab.zoom_out_action),
        Existing(tab.fit_action),
    ]
    model = [
        Item("&Open model…", w.open_model_dialog, "Ctrl+Shift+O"),
        Submenu(
            "&Recent",
            lambda menu: list_files(menu, settings.recent_models(), w.open_model),
            keep="recent_models_menu",
        ),
        Item(
            "&Default model",
            w.load_default_model,
            keep="default_model_action",
            enabled=has_default_model,
        ),
        SEPARATOR,
        Existing(w.fit_action),
        SEPARATOR,
        Choices(
            "De&vice",
            DEVICES,
            w.set_device,
            checked=device if device in dict(DEVICES) else "auto",
            keep="device_actions",
            unavailable=device_unavailable,
        ),
        SEPARATOR,
        *(Existing(action) for action in w.remote.actions()),
    ]
    about = [
        Item("&Keyboard shortcuts", w.show_shortcuts, "F1", keep="shortcuts_action"),
        Submenu(
            "&Examples",
            lambda menu: list_examples(menu, examples_folder(), doc.open),
            keep="help_examples_menu",
        ),
        SEPARATOR,
        Item("&About Sketchpad", w.show_about),
    ]
    return [
        Menu("&File", file),
        Menu("&Edit", edit),
        Menu("&View", view),
        Menu("&Model", model),
        Menu("&Help", about),
    ]


def device_unavailable(key: str) -> str | None:
    """Why Model ▸ Device ▸ `key` cannot run here (None: it can, or it is asked at run time)."""
    if key != "cuda":
        return None
    import torch

    if torch.cuda.is_available():
        return None
    if torch.version.cuda is None:
        return "This PyTorch has no CUDA support (a CPU build): the model runs on the CPU."
    return "No CUDA GPU was found (or its driver does not load): the model runs on the CPU."


# -- the builder ---------------------------------------------------------------------------


def build_menu_bar(bar: QMenuBar, menus: Sequence[Menu], owner: QObject) -> None:
    """Add `menus` to `bar`; new actions are children of `owner`, which also gets every
    row's `keep` attribute."""
    for spec in menus:
        menu = bar.addMenu(spec.title)
        menu.setToolTipsVisible(True)  # an action's tooltip says what it does or why it is off
        for row in spec.rows:
            _add_row(menu, row, owner)


def _add_row(menu: QMenu, row: Row, owner: QObject) -> None:
    if isinstance(row, Separator):
        menu.addSeparator()
    elif isinstance(row, Item):
        action = QAction(row.text, owner)
        _set_shortcut(action, row.shortcut)
        action.triggered.connect(row.slot)
        if callable(row.enabled):
            is_enabled = row.enabled
            action.setEnabled(is_enabled())
            menu.aboutToShow.connect(lambda: action.setEnabled(is_enabled()))
        else:
            action.setEnabled(row.enabled)
        menu.addAction(action)
        _keep(owner, row.keep, action)
    elif isinstance(row, Existing):
        _set_shortcut(row.action, row.shortcut)
        menu.addAction(row.action)
        _keep(owner, row.keep, row.action)
    elif isinstance(row, Submenu):
        submenu = menu.addMenu(row.text)
        _keep(owner, row.keep, submenu)
        submenu.aboutToShow.connect(lambda: row.populate(submenu))
        row.populate(submenu)
    elif isinstance(row, Choices):
        submenu = menu.addMenu(row.text)
        submenu.setToolTipsVisible(True)
        group = QActionGroup(owner)
        actions: dict[str, QAction] = {}
        for key, text in row.choices:
            action = QAction(text, owner, checkable=True)
            action.triggered.connect(lambda _=False, k=key: row.choose(k))
            if (why := row.unavailable(key)) is not None:
                action.setEnabled(False)
                action.setToolTip(why)
            group.addAction(action)
            submenu.addAction(action)
            actions[key] = action
        actions[row.checked].setChecked(True)
        _keep(owner, row.keep, actions)


def _set_shortcut(action: QAction, shortcut: Shortcut) -> None:
    if shortcut is not None:
        keys = (shortcut,) if isinstance(shortcut, str) else shortcut
        action.setShortcuts([QKeySequence(k) for k in keys])


def _keep(owner: QObject, name: str | None, value: object) -> None:
    if name is not None:
        setattr(owner, name, value)


# -- submenus listing files ----------------------------------------------------------------


def list_files(menu: QMenu, paths: Sequence[str], open_path: Callable[[str], object]) -> None:
    """`menu` lists `paths` by file name (the path as tooltip; files that are gone greyed)."""
    menu.clear()
    for path in paths:
        action = menu.addAction(Path(path).name)
        action.setToolTip(path)
        action.setEnabled(Path(path).is_file())
        action.triggered.connect(lambda _=False, p=path: open_path(p))
    if not paths:
        menu.addAction("(none)").setEnabled(False)


def list_examples(menu: QMenu, folder: Path, open_path: Callable[[Path], object]) -> None:
    """`menu` lists the PNG pictures in `folder`, named after their files ("a_house.png":
    "A house")."""
    menu.clear()
    files = sorted(folder.glob("*.png")) if folder.is_dir() else []
    for path in files:
        action = menu.addAction(path.stem.replace("_", " ").replace("-", " ").capitalize())
        action.triggered.connect(lambda _=False, p=path: open_path(p))
    if not files:
        menu.addAction("(none)").setEnabled(False)
