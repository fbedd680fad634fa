"""The Train tab's starting point (the canvas's model, the default model, a model file, or new
networks) and its training settings, each with a short explanation; the rarely changed ones
under "Advanced", collapsed.

`SettingsPanel.trainer_args()` turns the settings into `sketchpad train` flags. Defaults come
from the trainer's own configuration classes, so the tab and the command line agree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from sketchpad.checkpoint import read_metadata
from sketchpad.errors import SketchpadError
from sketchpad.paths import default_model_path
from sketchpad.train.config import TrainConfig

if TYPE_CHECKING:
    from models.validation import Limits

RESOLUTIONS = (64, 128, 256, 512)  # presets offered; the trainer accepts any valid resolution
SPIN_MAX, FLOAT_SPIN_MAX = 2**31 - 1, 1e9  # a spin box's ends where the config sets no bound
MODEL_FILTER = "Sketchpad models (*.safetensors)"
FINE_TUNE_TIP = (
    "Fine-tuning keeps the model file's resolution and networks; choose “New model” under "
    "Starting point to change them."
)
OBJECTIVE_NAMES = {  # labels of the trainer's choices, in menu order (a test keeps them in step)
    "hinge": "hinge",
    "vanilla": "vanilla (cross-entropy)",
    "lsgan": "least squares (LSGAN)",
    "wgangp": "Wasserstein + gradient penalty",
}


def _hint(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet("color: palette(placeholder-text); font-size: 8.5pt;")
    return label


def _with_hint(field: QWidget, hint: str) -> QWidget:
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    field.setFixedWidth(118)
    row.addWidget(field)
    row.addWidget(_hint(hint), 1)
    field.setToolTip(hint)
    field.setProperty("hint", hint)
    return box


def _spin(limits: Limits, value: int, step: int = 1) -> QSpinBox:
    """A spin box over an integer field's allowed values."""
    low, high = limits.closed(1, SPIN_MAX)
    box = QSpinBox()
    box.setRange(int(low), int(high))
    box.setSingleStep(step)
    box.setValue(value)
    box.setGroupSeparatorShown(True)
    return box


def _float_spin(limits: Limits, value: float, decimals: int, step: float) -> QDoubleSpinBox:
    """A spin box over a number field's allowed values (an open end one decimal inside)."""
    box = QDoubleSpinBox()
    box.setDecimals(decimals)
    box.setRange(*limits.closed(10.0**-decimals, FLOAT_SPIN_MAX))
    box.setSingleStep(step)
    box.setValue(value)
    box.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
    return box


def _labelled(choices: Iterable[str], labels: Mapping[str, str]) -> list[tuple[str, str]]:
    """(value, label) per choice: the labelled ones in `labels`' order, then the others."""
    choices = tuple(choices)
    ordered = [c for c in labels if c in choices] + [c for c in choices if c not in labels]
    return [(c, labels.get(c, c)) for c in ordered]


def _combo(items: list[tuple[str, str]], current: str) -> QComboBox:
    box = QComboBox()
    for key, text in items:
        box.addItem(text, key)
    box.setCurrentIndex(max(0, box.findData(current)))
    return box


class StartingPointPanel(QWidget):
    """Which model training starts from; `model_path()` is the `--init` value (None: new)."""

    changed = Signal()

    CHOICES = (
        ("current", "The model in the canvas"),
        ("default", "The default model"),
        ("file", "A model file…"),
        ("scratch", "New model (from scratch)"),
    )

    def __init__(
        self,
        current_model: Callable[[], str | None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.current_model_path_provider = current_model
        self.model_file: str | None = None
        self._metadata: dict[str, tuple[float, dict | None, str | None]] = {}
        self.combo = _combo(list(self.CHOICES), "scratch")
        self.info = QLabel()
        self.info.setWordWrap(True)
        self.info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.combo)
        layout.addWidget(self.info)
        self._last_choice = "scratch"
        self._user_chose = False
        """Until the user picks, the best available choice follows the canvas's model."""
        self.refresh(pick_best=True)
        self.combo.activated.connect(self._on_activated)

    def current_model_path(self) -> str | None:
        provider = self.current_model_path_provider
        path = provider() if provider is not None else None
        return str(path) if path else None

    def choice(self) -> str:
        return self.combo.currentData()

    def set_choice(self, choice: str, path: str | None = None) -> None:
        if choice == "file" and path:
            self.model_file = str(path)
        self.combo.setCurrentIndex(self.combo.findData(choice))
        self._last_choice = choice
        self._user_chose = True
        self._update_info()
        self.changed.emit()

    def model_path(self) -> str | None:
        choice = self.choice()
        if choice == "current":
            return self.current_model_path()
        if choice == "default":
            return str(default_model_path())
        if choice == "file":
            return self.model_file
        return None

    def model_resolution(self) -> int | None:
        meta, _ = self._read(self.model_path())
        try:
            return int(meta["generator"]["resolution"]) if meta else None
        except (KeyError, TypeError, ValueError):
            return None

    def ask_model_file(self) -> str | None:
        """The file dialog (tests replace this)."""
        start = str(Path(self.model_file).parent) if self.model_file else ""
        path, _ = QFileDialog.getOpenFileName(self, "Model to fine-tune", start, MODEL_FILTER)
        return path or None

    def refresh(self, pick_best: bool = False) -> None:
        """Enable the choices that exist now (the canvas may have changed model)."""
        model = self.combo.model()
        assert isinstance(model, QStandardItemModel)
        available = {
            "current": self.current_model_path() is not None,
            "default": default_model_path().is_file(),
            "file": True,
            "scratch": True,
        }
        for row in range(self.combo.count()):
            model.item(row).setEnabled(available[self.combo.itemData(row)])
        before = self.choice()
        if pick_best or not self._user_chose or not available[before]:
            best = next(c for c in ("current", "default", "scratch") if available[c])
            self.combo.setCurrentIndex(self.combo.findData(best))
            self._last_choice = best
        self._update_info()
        if self.choice() != before:
            self.changed.emit()

    def _on_activated(self, _index: int) -> None:
        if self.choice() == "file":
            path = self.ask_model_file()
            if path:
                self.model_file = path
            elif not self.model_file:
                self.combo.setCurrentIndex(self.combo.findData(self._last_choice))
                return
        self._last_choice = self.choice()
        self._user_chose = True
        self._update_info()
        self.changed.emit()

    def _read(self, path: str | None) -> tuple[dict | None, str | None]:
        if not path:
            return None, None
        try:
            mtime = Path(path).stat().st_mtime
        except OSError:
            return None, f"{Path(path).name} does not exist."
        cached = self._metadata.get(path)
        if cached is None or cached[0] != mtime:
            try:
                cached = (mtime, read_metadata(path), None)
            except SketchpadError as exc:
                cached = (mtime, None, str(exc))
            self._metadata[path] = cached
        return cached[1], cached[2]

    def _update_info(self) -> None:
        path = self.model_path()
        if path is None:
            self.info.setText("New networks, trained from random weights.")
            self.info.setToolTip("")
            return
        meta, error = self._read(path)
        if meta is None:
            self.info.setText(f"⚠ {error}")
        else:
            res = self.model_resolution()
            step = meta.get("step")
            trained = f", trained {step} steps" if isinstance(step, int) else ""
            name = meta.get("name") or Path(path).stem
            self.info.setText(f"Fine-tunes {name} ({res} px{trained}).")
        self.info.setToolTip(path)


class SettingsPanel(QWidget):
    """The training settings; `trainer_args()` gives their flags."""

    resolutionChanged = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        defaults = TrainConfig()
        loss, disc = defaults.loss, defaults.discriminator
        limits, choices = TrainConfig.LIMITS, TrainConfig.CHOICES
        self.steps = _spin(limits["steps"], defaults.steps, 100)
        self.batch = _spin(limits["batch"], defaults.batch)
        self.resolution = _combo([(str(r), f"{r} × {r}") for r in RESOLUTIONS], "")
        self.resolution.setCurrentIndex(self.resolution.findData(str(defaults.resolution)))
        self.device = _combo(
            [(d, {"auto": "Auto", "cpu": "CPU"}.get(d, d.upper())) for d in choices["device"]],
            defaults.device,
        )
        self.lr_g = _float_spin(limits["lr_g"], defaults.lr_g, 6, 1e-5)
        self.lr_d = _float_spin(limits["lr_d"], defaults.lr_d, 6, 1e-5)
        self.l1_weight = _float_spin(loss.LIMITS["l1_weight"], loss.l1_weight, 1, 10.0)
        self.objective = _combo(
            _labelled(loss.CHOICES["objective"], OBJECTIVE_NAMES), loss.objective
        )
        self.branches = _spin(disc.LIMITS["branches"], disc.branches)
        self.precision = _combo(
            [(p, {"auto": "Auto"}.get(p, p)) for p in choices["precision"]], defaults.precision
        )
        self.checkpoint_every = _spin(limits["checkpoint_every"], defaults.checkpoint_every, 100)
        self.sample_every = _spin(limits["sample_every"], defaults.sample_every, 50)

        basic = QFormLayout()
        basic.addRow("Steps", _with_hint(self.steps, "Training steps; each learns from one batch."))
        basic.addRow(
            "Batch size", _with_hint(self.batch, "Pictures per step. Lower it if memory runs out.")
        )
        self._resolution_row = _with_hint(self.resolution, "Picture size the model works at.")
        basic.addRow("Resolution", self._resolution_row)
        basic.addRow("Device", _with_hint(self.device, "Auto uses a GPU when there is one."))

        self.advanced_button = QToolButton()
        self.advanced_button.setText("Advanced")
        self.advanced_button.setCheckable(True)
        self.advanced_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced_button.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced_button.setAutoRaise(True)
        self.advanced = QWidget()
        adv = QFormLayout(self.advanced)
        adv.setContentsMargins(0, 0, 0, 0)
        adv.addRow(
            "G learning rate", _with_hint(self.lr_g, "Step size of the generator's updates.")
        )
        adv.addRow(
            "D learning rate", _with_hint(self.lr_d, "Step size of the discriminator's updates.")
        )
        adv.addRow(
            "L1 weight",
            _with_hint(self.l1_weight, "How closely outputs must match targets, pixel by pixel."),
        )
        adv.addRow("Objective", _with_hint(self.objective, "The adversarial (GAN) loss."))
        self._branches_row = _with_hint(
            self.branches, "Patch judges of growing depth; the deepest sees it all."
        )
        adv.addRow("D branches", self._branches_row)
        adv.addRow(
            "Precision",
            _with_hint(self.precision, "Auto uses bf16/fp16 where the hardware is fast at it."),
        )
        adv.addRow(
            "Checkpoint every",
            _with_hint(
                self.checkpoint_every, "Steps between saved checkpoints and exported models."
            ),
        )
        adv.addRow("Sample every", _with_hint(self.sample_every, "Steps between sample grids."))
        self.advanced.setVisible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(basic)
        layout.addWidget(self.advanced_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.advanced)

        self.advanced_button.toggled.connect(self.show_advanced)
        self.resolution.currentIndexChanged.connect(
            lambda _i: self.resolutionChanged.emit(self.chosen_resolution())
        )
        self._fine_tune_resolution: int | None = None

    def show_advanced(self, on: bool) -> None:
        self.advanced.setVisible(on)
        self.advanced_button.setChecked(on)
        self.advanced_button.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)

    def chosen_resolution(self) -> int:
        return int(self.resolution.currentData())

    def effective_resolution(self) -> int:
        """The resolution training will use: the model file's when fine-tuning."""
        return self._fine_tune_resolution or self.chosen_resolution()

    def set_fine_tuning(self, resolution: int | None, fine_tuning: bool) -> None:
        """Grey out what a model file decides (resolution and networks) when fine-tuning."""
        self._fine_tune_resolution = resolution if fine_tuning else None
        why = FINE_TUNE_TIP
        if fine_tuning and resolution:
            why += f" This model works at {resolution} px."
        for row, field in (
            (self._resolution_row, self.resolution),
            (self._branches_row, self.branches),
        ):
            row.setEnabled(not fine_tuning)
            row.setToolTip(why if fine_tuning else "")
            field.setToolTip(why if fine_tuning else field.property("hint"))

    def trainer_args(self, fine_tuning: bool) -> list[str]:
        args = [
            "--steps",
            str(self.steps.value()),
            "--batch",
            str(self.batch.value()),
            "--device",
            self.device.currentData(),
            "--lr-g",
            repr(self.lr_g.value()),
            "--lr-d",
            repr(self.lr_d.value()),
            "--l1-weight",
            repr(self.l1_weight.value()),
            "--objective",
            self.objective.currentData(),
            "--precision",
            self.precision.currentData(),
            "--checkpoint-every",
            str(self.checkpoint_every.value()),
            "--sample-every",
            str(self.sample_every.value()),
        ]
        if not fine_tuning:
            args += [
                "--resolution",
                str(self.chosen_resolution()),
                "--d-branches",
                str(self.branches.value()),
            ]
        return args
