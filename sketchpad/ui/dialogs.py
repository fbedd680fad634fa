"""The window's modal dialogs. The window calls them through small methods of its own
(`ask_open_path`, `ask_save_path`, `show_error`, `ask_save_changes`, `ask_restore`) that tests
replace, so nothing blocks offscreen."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget


def pictures_folder() -> str:
    pictures = Path.home() / "Pictures"
    return str(pictures if pictures.is_dir() else Path.home())


def sketch_folder(last: str, avoid: Path | None = None) -> str:
    """Where a sketch dialog starts: `last` (the folder of the last sketch opened, saved or
    exported), else the Pictures folder (or home); never inside `avoid`."""
    if not last or not Path(last).is_dir() or (avoid is not None and _inside(Path(last), avoid)):
        return pictures_folder()
    return last


def model_folder(last: str, last_model: str) -> str:
    """Where the model dialog starts: `last` (the folder of the last model opened with it),
    else the folder of the model last used, else home."""
    if last and Path(last).is_dir():
        return last
    return str(Path(last_model).parent) if last_model else str(Path.home())


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except OSError:
        return False


def ask_open_path(parent: QWidget, title: str, folder: str, name_filter: str) -> str | None:
    path, _ = QFileDialog.getOpenFileName(parent, title, folder, name_filter)
    return path or None


def ask_save_path(
    parent: QWidget, title: str, folder: str, suggested: str, name_filter: str
) -> str | None:
    """`suggested` (a file name) in `folder`, else in the home folder."""
    start = str(Path(folder or Path.home()) / suggested)
    path, _ = QFileDialog.getSaveFileName(parent, title, start, name_filter)
    return path or None


def show_error(parent: QWidget, title: str, text: str) -> None:
    QMessageBox.critical(parent, title, text)


def ask_save_changes(parent: QWidget) -> str:
    """ "save", "discard" or "cancel"."""
    buttons = (
        QMessageBox.StandardButton.Save
        | QMessageBox.StandardButton.Discard
        | QMessageBox.StandardButton.Cancel
    )
    answer = QMessageBox.question(
        parent,
        "Unsaved sketch",
        "The sketch has changes that are not saved. Save them?",
        buttons,
        QMessageBox.StandardButton.Save,
    )
    return {
        QMessageBox.StandardButton.Save: "save",
        QMessageBox.StandardButton.Discard: "discard",
    }.get(answer, "cancel")


def restore_question(stopped: bool) -> str:
    """What the offer to restore says: `stopped`, the last instance was stopped by a signal
    (a logout, a shutdown, `kill`) and kept the sketch; else it crashed or was killed."""
    if stopped:
        return (
            "Sketchpad was stopped last time (by a logout, a shutdown or a stop signal) "
            "while your sketch was not saved. Restore it?"
        )
    return (
        "Sketchpad ended unexpectedly last time (it crashed or was killed) while your sketch "
        "was not saved. Restore it?"
    )


def ask_restore(parent: QWidget, stopped: bool) -> bool:
    answer = QMessageBox.question(
        parent,
        "Restore sketch",
        restore_question(stopped),
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.Yes,
    )
    return answer == QMessageBox.StandardButton.Yes


def export_sizes(native: int, upscaled: int) -> list[tuple[int, str]]:
    """The sizes Export result offers, the default first: `upscaled` (said to be upscaled)
    when the model's own `native` size is smaller, then `native`."""
    own = (native, f"{native} × {native} px (the model's own size)")
    if native >= upscaled:
        return [own]
    return [(upscaled, f"{upscaled} × {upscaled} px (upscaled from {native} px)"), own]


def ask_export_size(parent: QWidget, native: int, upscaled: int) -> int | None:
    """The side of the exported picture, or None (cancelled)."""
    sizes = export_sizes(native, upscaled)
    if len(sizes) == 1:
        return sizes[0][0]
    labels = [label for _, label in sizes]
    label, ok = QInputDialog.getItem(parent, "Export result", "Size:", labels, 0, False)
    return dict((text, side) for side, text in sizes).get(label) if ok else None
