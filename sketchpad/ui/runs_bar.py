"""The Train tab's runs bar: the runs in the user's folder (newest first), Resume (or Extend,
for a finished run) and a button that opens the run's folder."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QToolButton, QWidget

from sketchpad.train import runs


class RunsBar(QWidget):
    """ "Run [combo] Resume Folder". The owner says what happens on the buttons and whether a
    trainer is running (`update_controls`)."""

    selectionChanged = Signal()
    """The user chose another run."""
    resumeClicked = Signal()
    folderClicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runs: dict[str, runs.RunInfo] = {}
        self.runs_box = QComboBox()
        self.runs_box.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.runs_box.setMinimumContentsLength(24)
        self.runs_box.setToolTip("Runs in your Sketchpad folder, newest first")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue the chosen run from its newest checkpoint")
        self.folder_button = QToolButton()
        self.folder_button.setText("Folder")
        self.folder_button.setToolTip("Open the run's folder")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Run"))
        layout.addWidget(self.runs_box, 1)
        layout.addWidget(self.resume_button)
        layout.addWidget(self.folder_button)

        self.runs_box.currentIndexChanged.connect(lambda _i: self.selectionChanged.emit())
        self.resume_button.clicked.connect(self.resumeClicked)
        self.folder_button.clicked.connect(self.folderClicked)

    def refresh(self, select: Path | None = None) -> None:
        """List the runs again, keeping the chosen one (or choosing `select`), without
        `selectionChanged`."""
        keep = select or (Path(d) if (d := self.runs_box.currentData()) else None)
        self._runs = {str(info.path): info for info in runs.list_runs()}
        self.runs_box.blockSignals(True)
        self.runs_box.clear()
        for key, info in self._runs.items():
            self.runs_box.addItem(info.summary(), key)
            self.runs_box.setItemData(self.runs_box.count() - 1, key, Qt.ItemDataRole.ToolTipRole)
        if not self._runs:
            self.runs_box.addItem("No runs yet", None)
        if keep is not None and (index := self.runs_box.findData(str(keep))) >= 0:
            self.runs_box.setCurrentIndex(index)
        self.runs_box.blockSignals(False)

    def show_live_step(self, path: Path, step: int) -> None:
        """The running run's line says the step it has reached (the folder knows only its
        last checkpoint's)."""
        info = self._runs.get(str(path))
        index = self.runs_box.findData(str(path))
        if info is not None and index >= 0 and step > info.step:
            self.runs_box.setItemText(index, dataclasses.replace(info, step=step).summary())

    def select(self, path: Path) -> None:
        """Choose the run in `path` (listing the runs again when it is new): `selectionChanged`
        when the choice changed or the list was rebuilt."""
        if self.runs_box.findData(str(path)) < 0:
            self.refresh(select=path)
            self.selectionChanged.emit()
        else:
            self.runs_box.setCurrentIndex(self.runs_box.findData(str(path)))

    def selected(self) -> runs.RunInfo | None:
        """The chosen run as it is on disk now."""
        key = self.runs_box.currentData()
        return runs.read_run(Path(key)) if key else None

    def update_controls(self, idle: bool) -> None:
        """While a trainer runs, the list is locked and there is nothing to resume."""
        info = self.selected() if idle else None
        self.resume_button.setEnabled(idle and info is not None and info.can_resume)
        self.resume_button.setText("Extend" if info is not None and info.finished else "Resume")
        self.runs_box.setEnabled(idle)
        self.folder_button.setEnabled(not idle or info is not None)
