"""The Train tab's left column: what a new run trains on (Data), from (Starting point) and how
(Settings), kept consistent with each other (a model to fine-tune fixes the resolution the data
preview uses), and the trainer flags they make. A run's length comes from a preset ("Quick
fine-tune" shows a sample within a minute; chosen by itself when fine-tuning) or by hand."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from sketchpad.train import presets
from sketchpad.ui.train_data import DataPanel
from sketchpad.ui.train_settings import SettingsPanel, StartingPointPanel

CUSTOM = "custom"


class PresetRow(QWidget):
    """ "Length: [Quick fine-tune ▾]": sets the steps and how often to sample and save; shows
    "Custom" once those are changed by hand. Until the user picks, it follows the starting
    point: Quick when fine-tuning, Full for new networks."""

    def __init__(self, settings: SettingsPanel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.user_chose = False
        """Once the user picked a preset or set the length by hand, the start point leaves it."""
        self._applying = False
        self.combo = QComboBox()
        for p in presets.PRESETS:
            self.combo.addItem(p.label, p.key)
        self.combo.addItem("Custom", CUSTOM)
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: palette(placeholder-text); font-size: 8.5pt;")
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Length", self.combo)
        form.addRow("", self.hint)
        self.combo.activated.connect(self._on_activated)
        for box in (settings.steps, settings.sample_every, settings.checkpoint_every):
            box.valueChanged.connect(lambda _v: self._follow_settings())
        self._follow_settings()

    def choice(self) -> str:
        return self.combo.currentData()

    def apply(self, key: str, *, by_user: bool = True) -> None:
        """Set the settings to preset `key` ("quick", "full")."""
        p = presets.preset(key)
        s = self.settings
        self.user_chose = self.user_chose or by_user
        self._applying = True
        try:
            s.steps.setValue(p.steps)
            s.sample_every.setValue(p.sample_every)
            s.checkpoint_every.setValue(p.checkpoint_every)
        finally:
            self._applying = False
        self._follow_settings()

    def follow_start_point(self, fine_tuning: bool) -> None:
        if not self.user_chose:
            self.apply("quick" if fine_tuning else "full", by_user=False)

    def _on_activated(self, _index: int) -> None:
        key = self.choice()
        if key == CUSTOM:
            self.user_chose = True
            self.settings.show_advanced(True)  # where the cadences are set
            self._follow_settings()
        else:
            self.apply(key)

    def _follow_settings(self) -> None:
        if self._applying:
            return
        s = self.settings
        found = presets.matching(
            s.steps.value(), s.sample_every.value(), s.checkpoint_every.value()
        )
        key = found.key if found is not None else CUSTOM
        if found is None:
            self.user_chose = True  # set by hand: a change of start point keeps it
        self.combo.setCurrentIndex(self.combo.findData(key))
        self.hint.setText(
            found.description
            if found is not None
            else f"{s.steps.value():,} steps, a sample every {s.sample_every.value():,}."
        )


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
        self.preset_row = PresetRow(settings_panel)
        self.settings_group = _group("Settings", self.preset_row, settings_panel)
        for group in (self.data_group, self.start_group, self.settings_group):
            left_layout.addWidget(group)
        left_layout.addStretch(1)
        self.setWidget(left)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setMinimumWidth(440)
        self.setMaximumWidth(520)

        for field in left.findChildren(QComboBox) + left.findChildren(QAbstractSpinBox):
            field.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # the wheel gives it no focus
            field.installEventFilter(self)

        start_panel.changed.connect(self._on_start_point_changed)
        settings_panel.resolutionChanged.connect(
            lambda _r: data_panel.set_resolution(settings_panel.effective_resolution())
        )
        self._on_start_point_changed()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """The wheel over a combo or spin box the user has not clicked scrolls the panel
        instead of changing the value (or opening a file dialog) under the pointer."""
        if (
            event.type() == QEvent.Type.Wheel
            and isinstance(watched, (QComboBox, QAbstractSpinBox))
            and not watched.hasFocus()
        ):
            QCoreApplication.sendEvent(self.verticalScrollBar(), event)
            return True
        return super().eventFilter(watched, event)

    def trainer_args(self) -> list[str]:
        """The flags of a new run (without --out and --progress)."""
        init = self.start_panel.model_path()
        args = ["--data", self.data_panel.spec()]
        if init:
            args += ["--init", init]
        return args + self.settings_panel.trainer_args(fine_tuning=init is not None)

    def show_config(self, config: dict) -> None:
        """Show a run's saved configuration (its config.json): its data and settings, so that
        the tab says what the run is, and Start trains a run like it. Missing or unreadable
        fields keep what is shown."""
        if isinstance(data := config.get("data"), str) and data != self.data_panel.spec():
            self.data_panel.set_spec(data)
        s = self.settings_panel
        boxes = {
            "steps": s.steps,
            "batch": s.batch,
            "sample_every": s.sample_every,
            "checkpoint_every": s.checkpoint_every,
            "lr_g": s.lr_g,
            "lr_d": s.lr_d,
        }
        for key, box in boxes.items():
            value = config.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                box.setValue(value)
        for key, combo in (("device", s.device), ("precision", s.precision)):
            if (index := combo.findData(config.get(key))) >= 0:
                combo.setCurrentIndex(index)
        loss = config.get("loss") if isinstance(config.get("loss"), dict) else {}
        if (index := s.objective.findData(loss.get("objective"))) >= 0:
            s.objective.setCurrentIndex(index)
        if isinstance(weight := loss.get("l1_weight"), (int, float)):
            s.l1_weight.setValue(weight)
        if (index := s.resolution.findData(str(config.get("resolution")))) >= 0:
            s.resolution.setCurrentIndex(index)
        self.preset_row.user_chose = True  # the run's length stays, whatever the start point

    def set_editable(self, on: bool) -> None:
        """Lock the choices while a trainer runs; the data preview stays readable."""
        for group in (self.start_group, self.settings_group):
            group.setEnabled(on)
        self.data_panel.set_inputs_enabled(on)

    def _on_start_point_changed(self) -> None:
        init = self.start_panel.model_path()
        resolution = self.start_panel.model_resolution() if init else None
        self.settings_panel.set_fine_tuning(resolution, fine_tuning=init is not None)
        self.preset_row.follow_start_point(fine_tuning=init is not None)
        self.data_panel.set_resolution(self.settings_panel.effective_resolution())


def _group(title: str, *content: QWidget) -> QGroupBox:
    group = QGroupBox(title)
    box = QVBoxLayout(group)
    for widget in content:
        box.addWidget(widget)
    return group
