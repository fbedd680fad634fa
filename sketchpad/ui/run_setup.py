"""The Train tab's left column: what a new run trains on (Data), from (Starting point) and how
(Settings), kept consistent with each other (a model to fine-tune fixes the resolution the data
preview uses), and the trainer flags they make."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGroupBox, QScrollArea, QVBoxLayout, QWidget

from sketchpad.ui.train_data import DataPanel
from sketchpad.ui.train_settings import SettingsPanel, StartingPointPanel


class RunSetup(QScrollArea):
    def __init__(
        self,
        data_panel: DataPanel,
        start_panel: StartingPointPanel,
        settings_panel: SettingsPanel,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.data_panel = data_panel
        self.start_panel = start_panel
        self.settings_panel = settings_panel
        left = QWidget()
        left_layout = QVBoxLayout(left)
        self.data_group = _group("Data", data_panel)
        self.start_group = _group("Starting point", start_panel)
        self.settings_group = _group("Settings", settings_panel)
        for group in (self.data_group, self.start_group, self.settings_group):
            left_layout.addWidget(group)
        left_layout.addStretch(1)
        self.setWidget(left)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setMinimumWidth(440)
        self.setMaximumWidth(520)

        start_panel.changed.connect(self._on_start_point_changed)
        settings_panel.resolutionChanged.connect(
            lambda _r: data_panel.set_resolution(settings_panel.effective_resolution())
        )
        self._on_start_point_changed()

    def trainer_args(self) -> list[str]:
        """The flags of a new run (without --out and --progress)."""
        init = self.start_panel.model_path()
        args = ["--data", self.data_panel.spec()]
        if init:
            args += ["--init", init]
        return args + self.settings_panel.trainer_args(fine_tuning=init is not None)

    def set_editable(self, on: bool) -> None:
        """Lock the choices while a trainer runs; the data preview stays readable."""
        for group in (self.start_group, self.settings_group):
            group.setEnabled(on)
        self.data_panel.set_inputs_enabled(on)

    def _on_start_point_changed(self) -> None:
        init = self.start_panel.model_path()
        resolution = self.start_panel.model_resolution() if init else None
        self.settings_panel.set_fine_tuning(resolution, fine_tuning=init is not None)
        self.data_panel.set_resolution(self.settings_panel.effective_resolution())


def _group(title: str, content: QWidget) -> QGroupBox:
    group = QGroupBox(title)
    box = QVBoxLayout(group)
    box.addWidget(content)
    return group
