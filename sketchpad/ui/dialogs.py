"""The window's modal dialogs. The window calls them through small methods of its own
(`ask_open_path`, `ask_save_path`, `show_error`, `ask_save_changes`, `ask_restore`) that tests
replace, so nothing blocks offscreen."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from sketchpad import __version__


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


def ask_restore(parent: QWidget) -> bool:
    answer = QMessageBox.question(
        parent,
        "Restore sketch",
        "Sketchpad did not close properly last time. Restore the sketch you were drawing?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        QMessageBox.StandardButton.Yes,
    )
    return answer == QMessageBox.StandardButton.Yes


def show_about(parent: QWidget) -> None:
    from sketchpad.data.openmoji import OPENMOJI_CREDIT

    QMessageBox.about(
        parent,
        "About Sketchpad",
        f"<h3>Sketchpad {__version__}</h3>"
        "<p>Draw lines; watch a GAN paint them while you draw. The generator is built from "
        "SketchyGAN's Masked Residual Units with conditional self-attention; a multi-depth "
        "PatchGAN discriminator judges every patch.</p>"
        "<p>Sketchpad is free software under the MIT licence.</p>"
        f"<p>{OPENMOJI_CREDIT} The default model was trained on these drawings.</p>",
    )
