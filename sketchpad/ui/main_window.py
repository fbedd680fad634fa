"""The main window: menus, the tabs (Draw, and whatever `add_tab` adds), the status bar, and the
wiring between the canvas, the inference service, settings and files.

Every dialog goes through a small method (`ask_open_path`, `ask_save_path`, `show_error`,
`ask_save_changes`, `ask_restore`) that tests replace, so nothing blocks offscreen.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QImage, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QTabWidget,
    QWidget,
)

from sketchpad import __version__
from sketchpad.errors import DataError
from sketchpad.paths import default_model_path, examples_dir
from sketchpad.ui.autosave import Autosave
from sketchpad.ui.canvas import IMAGE_SUFFIXES
from sketchpad.ui.draw_tab import DrawTab
from sketchpad.ui.pictures import load_sketch_picture, save_png, side_by_side
from sketchpad.ui.settings import AppSettings
from sketchpad.ui.worker import (
    EngineFactory,
    Frame,
    InferenceService,
    ModelInfo,
    default_engine_factory,
)

IMAGE_FILTER = "Pictures (" + " ".join(f"*{s}" for s in IMAGE_SUFFIXES) + ")"
PNG_FILTER = "PNG pictures (*.png)"
MODEL_FILTER = "Sketchpad models (*.safetensors)"
DEVICES = (("auto", "Auto"), ("cpu", "CPU"), ("cuda", "CUDA"))
NO_MODEL_TEXT = (
    "No model loaded.\n\nModel ▸ Open model… (Ctrl+Shift+O) opens a .safetensors model file "
    "(one made by `sketchpad train`)."
)


class MainWindow(QMainWindow):
    frameShown = Signal(object)
    """A generated picture (a worker `Frame`) is now in the result view."""
    modelChanged = Signal(object)
    """A model (`ModelInfo`) was loaded and is in use."""

    def __init__(
        self,
        settings: QSettings | None = None,
        engine_factory: EngineFactory | None = None,
        device: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._close_guards: list[Callable[[], bool]] = []
        self._shutdown_hooks: list[Callable[[], None]] = []
        self.setWindowTitle("Sketchpad")
        self.settings = AppSettings(settings)
        self.undo_stack = QUndoStack(self)
        self.draw_tab = DrawTab(self.undo_stack)
        self.canvas = self.draw_tab.canvas
        self.result_view = self.draw_tab.result_view
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.draw_tab, "Draw")
        self.setCentralWidget(self.tabs)

        self._device = device or self.settings.device
        self.service = InferenceService(engine_factory or default_engine_factory, self._device)
        self.model: ModelInfo | None = None
        self.last_frame: Frame | None = None
        self._fallback_paths: list[str] = []
        self._sketch_path: Path | None = None
        self._seed = 0
        self.want_verdicts = False
        """Ask the engine for the discriminator's verdicts with every picture (for overlays)."""
        self.probe: tuple[float, float] | None = None
        """(y, x) image fractions where the attention is probed with every picture, or None."""
        self._shown: deque[float] = deque(maxlen=30)
        self._autosave = Autosave()
        self._autosave_timer = QTimer(self, singleShot=True, interval=0)
        self._autosave_timer.timeout.connect(self.autosave)

        self._build_status_bar()
        self._build_menus()
        self._connect()
        self._restore_settings()
        self.result_view.set_message(NO_MODEL_TEXT)

    # -- construction ------------------------------------------------------------------------

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.device_label = QLabel("")
        self.model_label = QLabel("No model")
        self.timing_label = QLabel("")
        for label in (self.device_label, self.model_label, self.timing_label):
            label.setContentsMargins(6, 0, 6, 0)
            bar.addPermanentWidget(label)

    def _action(self, menu: QMenu, text: str, slot, shortcut=None) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            keys = shortcut if isinstance(shortcut, list) else [shortcut]
            action.setShortcuts([QKeySequence(k) for k in keys])
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        self.new_action = self._action(file, "&New", self.new_sketch, "Ctrl+N")
        self._action(file, "&Open sketch…", self.open_sketch_dialog, "Ctrl+O")
        self.recent_files_menu = file.addMenu("Open &recent")
        self.recent_files_menu.aboutToShow.connect(self._fill_recent_files)
        self._fill_recent_files()
        self._action(file, "&Save sketch…", self.save_sketch, "Ctrl+S")
        self._action(file, "Save sketch &as…", self.save_sketch_as, "Ctrl+Shift+S")
        file.addSeparator()
        self.export_action = self._action(file, "&Export result…", self.export_result, "Ctrl+E")
        self.export_pair_action = self._action(
            file, "Export side &by side…", self.export_side_by_side, "Ctrl+Shift+E"
        )
        file.addSeparator()
        self.examples_menu = file.addMenu("E&xamples")
        self.examples_menu.aboutToShow.connect(self._fill_examples)
        self._fill_examples()
        file.addSeparator()
        self._action(file, "&Quit", self.close, "Ctrl+Q")

        edit = bar.addMenu("&Edit")
        undo = self.undo_stack.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence("Ctrl+Z"))
        redo = self.undo_stack.createRedoAction(self, "&Redo")
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        edit.addAction(undo)
        edit.addAction(redo)
        self.undo_action, self.redo_action = undo, redo
        edit.addSeparator()
        self._action(edit, "&Clear", self.canvas.clear)
        edit.addSeparator()
        for action in (self.draw_tab.brush_action, self.draw_tab.eraser_action):
            edit.addAction(action)
        edit.addAction(self.draw_tab.smaller_action)
        edit.addAction(self.draw_tab.larger_action)
        edit.addSeparator()
        self.generate_action = self._action(edit, "&Generate", self.generate, "Ctrl+Return")
        self.variation_action = self._action(edit, "&Variation", self.new_variation, "Ctrl+R")
        self.variation_action.setEnabled(False)

        view = bar.addMenu("&View")
        view.addAction(self.draw_tab.verdicts_action)
        view.addAction(self.draw_tab.probe_action)

        model = bar.addMenu("&Model")
        self._action(model, "&Open model…", self.open_model_dialog, "Ctrl+Shift+O")
        self.recent_models_menu = model.addMenu("&Recent")
        self.recent_models_menu.aboutToShow.connect(self._fill_recent_models)
        self._fill_recent_models()
        self.default_model_action = self._action(model, "&Default model", self.load_default_model)
        model.aboutToShow.connect(
            lambda: self.default_model_action.setEnabled(default_model_path().is_file())
        )
        self.default_model_action.setEnabled(default_model_path().is_file())
        model.addSeparator()
        devices = model.addMenu("De&vice")
        group = QActionGroup(self)
        self.device_actions: dict[str, QAction] = {}
        for name, text in DEVICES:
            action = QAction(text, self, checkable=True)
            action.triggered.connect(lambda _=False, n=name: self.set_device(n))
            group.addAction(action)
            devices.addAction(action)
            self.device_actions[name] = action
        self.device_actions.get(self._device, self.device_actions["auto"]).setChecked(True)

        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&About Sketchpad", self.show_about)

    def _connect(self) -> None:
        self.canvas.sketchChanged.connect(self._on_sketch_changed)
        self.canvas.fileDropped.connect(self.open_sketch)
        self.undo_stack.indexChanged.connect(lambda _i: self._autosave_timer.start())
        self.draw_tab.generateRequested.connect(self.generate)
        self.draw_tab.variationRequested.connect(self.new_variation)
        self.draw_tab.liveToggled.connect(self._on_live_toggled)
        self.draw_tab.overlayRequestChanged.connect(self._on_overlay_request)
        self.draw_tab.overlayStatus.connect(self._show_overlay_status)
        self.service.frameReady.connect(self._on_frame)
        self.service.jobFailed.connect(lambda _id, msg: self.statusBar().showMessage(msg, 8000))
        self.service.modelLoaded.connect(self._on_model_loaded)
        self.service.modelFailed.connect(self._on_model_failed)
        self.service.deviceChanged.connect(self._on_device_changed)

    def _restore_settings(self) -> None:
        s = self.settings
        if (geometry := s.geometry("geometry")) is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1180, 720)
        if (state := s.geometry("splitter")) is not None:
            self.draw_tab.splitter.restoreState(state)
        self.canvas.set_brush_size(s.brush_size)
        self.canvas.set_tool(s.tool if s.tool in ("brush", "eraser") else "brush")
        self.draw_tab.live_box.setChecked(s.live)

    def _save_settings(self) -> None:
        s = self.settings
        s.set_geometry("geometry", self.saveGeometry())
        s.set_geometry("splitter", self.draw_tab.splitter.saveState())
        s.brush_size = self.canvas.brush_size
        s.tool = self.canvas.tool
        s.live = self.draw_tab.live
        s.device = self._device
        s.sync()

    def add_tab(self, widget: QWidget, title: str) -> int:
        """Add a tab after the Draw tab (the trainer adds its own); returns its index."""
        return self.tabs.addTab(widget, title)

    def add_close_guard(self, guard: Callable[[], bool]) -> None:
        """`guard()` runs when the window is asked to close; False keeps it open."""
        self._close_guards.append(guard)

    def add_shutdown_hook(self, hook: Callable[[], None]) -> None:
        self._shutdown_hooks.append(hook)

    # -- dialogs (tests replace these) -------------------------------------------------------

    def ask_open_path(self, title: str, name_filter: str) -> str | None:
        path, _ = QFileDialog.getOpenFileName(self, title, self.settings.last_folder, name_filter)
        return path or None

    def ask_save_path(self, title: str, suggested: str, name_filter: str) -> str | None:
        start = str(Path(self.settings.last_folder or Path.home()) / suggested)
        path, _ = QFileDialog.getSaveFileName(self, title, start, name_filter)
        return path or None

    def show_error(self, title: str, text: str) -> None:
        QMessageBox.critical(self, title, text)

    def ask_save_changes(self) -> str:
        """ "save", "discard" or "cancel"."""
        buttons = (
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel
        )
        answer = QMessageBox.question(
            self,
            "Unsaved sketch",
            "The sketch has changes that are not saved. Save them?",
            buttons,
            QMessageBox.StandardButton.Save,
        )
        return {
            QMessageBox.StandardButton.Save: "save",
            QMessageBox.StandardButton.Discard: "discard",
        }.get(answer, "cancel")

    def ask_restore(self) -> bool:
        answer = QMessageBox.question(
            self,
            "Restore sketch",
            "Sketchpad did not close properly last time. Restore the sketch you were drawing?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes,
        )
        return answer == QMessageBox.StandardButton.Yes

    # -- models and devices ------------------------------------------------------------------

    def start(self, model_path: str | None = None) -> None:
        """Load the first model: `model_path`, else the last one used, else the default.
        Without any, the window says how to open one."""
        candidates = [model_path] if model_path else []
        if not model_path:
            last = self.settings.last_model
            if last and Path(last).is_file():
                candidates.append(last)
            if default_model_path().is_file():
                candidates.append(str(default_model_path()))
        if not candidates:
            self.statusBar().showMessage("No model loaded: Model ▸ Open model… opens one", 0)
            return
        self._fallback_paths = candidates[1:]
        self.open_model(candidates[0])

    def open_model(self, path: str | Path) -> None:
        """Load a model in the worker; the current one stays until the new one is ready, and
        stays for good if it fails."""
        self.statusBar().showMessage(f"Loading {Path(path).name}…")
        self.service.load_model(str(path))

    def open_model_dialog(self) -> None:
        path = self.ask_open_path("Open model", MODEL_FILTER)
        if path:
            self._fallback_paths = []
            self.settings.last_folder = str(Path(path).parent)
            self.open_model(path)

    def load_default_model(self) -> None:
        path = default_model_path()
        if not path.is_file():
            self.show_error(
                "No default model",
                f"The default model is not installed ({path}). Open a model file instead "
                "(Model ▸ Open model…).",
            )
            return
        self._fallback_paths = []
        self.open_model(path)

    def set_device(self, name: str) -> None:
        self._device = name
        self.settings.device = name
        if name in self.device_actions:
            self.device_actions[name].setChecked(True)
        self.statusBar().showMessage(f"Switching to {name.upper()}…", 3000)
        self.service.set_device(name)

    def _on_model_loaded(self, info: ModelInfo) -> None:
        self.model = info
        self._fallback_paths = []
        self.settings.last_model = info.path
        self.settings.add_recent_model(info.path)
        self.model_label.setText(f"{info.name} ({info.resolution} px)")
        self.model_label.setToolTip(info.path)
        self._show_device(info.device_text, info.fallback_reason or "")
        self.draw_tab.set_takes_noise(info.takes_noise)
        self.variation_action.setEnabled(info.takes_noise)
        self.draw_tab.set_overlay_model(info.branches, info.attention_levels, info.resolution)
        self.result_view.set_message("")
        if not info.fallback_reason:
            self.statusBar().showMessage(f"Model {info.name} loaded", 4000)
        self.modelChanged.emit(info)
        self.generate()

    def _on_model_failed(self, path: str, message: str) -> None:
        if self._fallback_paths:  # at start: the last model is gone or broken, try the next
            self.statusBar().showMessage(f"Could not open {Path(path).name}: {message}", 8000)
            self.open_model(self._fallback_paths.pop(0))
            return
        keep = f" {self.model.name} stays loaded." if self.model else ""
        self.statusBar().showMessage(f"Could not open {Path(path).name}.{keep}", 8000)
        self.show_error("Cannot open model", f"{message}\n\n{keep.strip()}".strip())

    def _on_device_changed(self, text: str, reason: str) -> None:
        self._show_device(text, reason)
        if not reason:
            self.statusBar().showMessage(f"Now running on {text}", 4000)
        self.generate()

    def _show_device(self, text: str, reason: str) -> None:
        if reason:
            self.device_label.setText(f"{text} (fallback)")
            self.device_label.setToolTip(reason)
            self.statusBar().showMessage(reason, 15000)
        else:
            self.device_label.setText(text)
            self.device_label.setToolTip("")

    # -- generation --------------------------------------------------------------------------

    def generate(self) -> int | None:
        """Ask for a picture of the current sketch (whatever the Live switch says)."""
        if self.model is None:
            return None
        return self.service.submit(
            self.canvas.image(), want_verdicts=self.want_verdicts, probe=self.probe, seed=self._seed
        )

    def new_variation(self) -> None:
        self._seed = random.randrange(2**31)
        self.generate()

    def _on_sketch_changed(self) -> None:
        if self.draw_tab.live:
            self.generate()

    def _on_live_toggled(self, on: bool) -> None:
        self.settings.live = on
        if on:
            self.generate()

    def _on_overlay_request(self, want_verdicts: bool, probe: tuple[float, float] | None) -> None:
        """An overlay was switched or the probe point moved: ask for what it needs (the
        verdicts come in the same run as the picture; none are computed while it is off)."""
        needs_more = (want_verdicts and not self.want_verdicts) or (
            probe is not None and probe != self.probe
        )
        self.want_verdicts, self.probe = want_verdicts, probe
        if needs_more:
            self.generate()

    def _show_overlay_status(self, text: str) -> None:
        if text:
            self.statusBar().showMessage(text)
        else:
            self.statusBar().clearMessage()

    def _on_frame(self, frame: Frame) -> None:
        self.last_frame = frame
        self.result_view.set_image(frame.image)
        result = frame.result
        self.draw_tab.show_overlay_result(result.verdicts, result.attention, frame.job.probe)
        now = time.perf_counter()
        self._shown.append(now)
        recent = [t for t in self._shown if now - t < 2.0]
        total = frame.result.timings.get("total", frame.milliseconds)
        if len(recent) >= 3:
            fps = (len(recent) - 1) / (recent[-1] - recent[0])
        else:
            fps = 1000.0 / max(frame.milliseconds, 1e-3)
        self.timing_label.setText(f"{total:.0f} ms · {fps:.1f} fps")
        if frame.fallback_reason and frame.fallback_reason != self.device_label.toolTip():
            self._show_device(frame.device_text, frame.fallback_reason)
        self.frameShown.emit(frame)

    # -- sketch files ------------------------------------------------------------------------

    def is_unsaved(self) -> bool:
        return not self.undo_stack.isClean() and not self.canvas.is_blank()

    def _settle_unsaved(self) -> bool:
        """True when it is fine to drop the sketch (saved, discarded, or nothing to lose)."""
        if not self.is_unsaved():
            return True
        answer = self.ask_save_changes()
        if answer == "save":
            return self.save_sketch()
        return answer == "discard"

    def new_sketch(self) -> None:
        if not self._settle_unsaved():
            return
        self.canvas.clear()
        self.undo_stack.clear()
        self._sketch_path = None
        self._autosave.remove()

    def open_sketch_dialog(self) -> None:
        path = self.ask_open_path("Open sketch", IMAGE_FILTER)
        if path:
            self.open_sketch(path)

    def open_sketch(self, path: str | Path) -> bool:
        """Any picture as the sketch (an undoable edit); photos get their lines extracted."""
        path = Path(path)
        try:
            image, photo = load_sketch_picture(path, self.canvas.side)
        except DataError as exc:
            self.show_error("Cannot open picture", str(exc))
            return False
        self.canvas.replace_image(image, f"Open {path.name}")
        self.settings.last_folder = str(path.parent)
        self.settings.add_recent_file(str(path))
        how = "as a photo: its lines were extracted" if photo else "as a drawing"
        self.statusBar().showMessage(f"Opened {path.name} {how}", 6000)
        return True

    def save_sketch(self) -> bool:
        if self._sketch_path is None:
            return self.save_sketch_as()
        return self._write_sketch(self._sketch_path)

    def save_sketch_as(self) -> bool:
        suggested = self._sketch_path.name if self._sketch_path else "sketch.png"
        path = self.ask_save_path("Save sketch", suggested, PNG_FILTER)
        if not path:
            return False
        path = Path(path)
        if path.suffix.lower() != ".png":
            path = path.with_name(path.name + ".png")
        return self._write_sketch(path)

    def _write_sketch(self, path: Path) -> bool:
        if not self._save_png(self.canvas.image(), path, "Cannot save sketch"):
            return False
        self._sketch_path = path
        self.undo_stack.setClean()
        self.settings.add_recent_file(str(path))
        self.statusBar().showMessage(f"Saved {path}", 4000)
        return True

    def export_result(self) -> bool:
        if self.last_frame is None:
            self.show_error("Nothing to export", "No picture has been generated yet.")
            return False
        path = self.ask_save_path("Export result", self._export_name("result"), PNG_FILTER)
        return bool(path) and self._save_png(self.last_frame.image, Path(path), "Cannot export")

    def export_side_by_side(self) -> bool:
        frame = self.last_frame
        if frame is None or self.model is None:
            self.show_error("Nothing to export", "No picture has been generated yet.")
            return False
        path = self.ask_save_path("Export side by side", self._export_name("pair"), PNG_FILTER)
        if not path:
            return False
        picture = side_by_side(frame.job.sketch, frame.image, self.model.resolution)
        return self._save_png(picture, Path(path), "Cannot export")

    def _export_name(self, kind: str) -> str:
        stem = self._sketch_path.stem if self._sketch_path else "sketch"
        return f"{stem}-{kind}.png"

    def _save_png(self, image: QImage, path: Path, title: str) -> bool:
        try:
            save_png(image, path)
        except DataError as exc:
            self.show_error(title, str(exc))
            return False
        self.settings.last_folder = str(path.parent)
        return True

    def _fill_recent_files(self) -> None:
        self._fill_recent(self.recent_files_menu, self.settings.recent_files(), self.open_sketch)

    def _fill_recent_models(self) -> None:
        def open_recent(path: str) -> None:
            self._fallback_paths = []
            self.open_model(path)

        self._fill_recent(self.recent_models_menu, self.settings.recent_models(), open_recent)

    def _fill_recent(self, menu: QMenu, paths: list[str], opener) -> None:
        menu.clear()
        for path in paths:
            action = menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.setEnabled(Path(path).is_file())
            action.triggered.connect(lambda _=False, p=path: opener(p))
        if not paths:
            menu.addAction("(none)").setEnabled(False)

    def _fill_examples(self) -> None:
        menu = self.examples_menu
        menu.clear()
        folder = examples_dir()
        files = sorted(folder.glob("*.png")) if folder.is_dir() else []
        for path in files:
            action = menu.addAction(path.stem.replace("_", " ").replace("-", " ").capitalize())
            action.triggered.connect(lambda _=False, p=path: self.open_sketch(p))
        if not files:
            menu.addAction("(none)").setEnabled(False)

    # -- not losing work ---------------------------------------------------------------------

    def autosave_path(self) -> Path:
        return self._autosave.path

    def autosave(self) -> None:
        """Keep the sketch in the user data folder after every edit (a blank one is not kept)."""
        if self.canvas.is_drawing:
            return
        if self.canvas.is_blank():
            self._autosave.remove()
            return
        try:
            self._autosave.write(self.canvas.image())
        except DataError as exc:
            self.statusBar().showMessage(f"Autosave failed: {exc}", 8000)

    def offer_restore(self) -> bool:
        """After a crash or kill the autosaved sketch is still there: offer to restore it."""
        image = self._autosave.load()
        if image is None:
            return False
        if not self.ask_restore():
            self._autosave.remove()
            return False
        self.canvas.replace_image(image, "Restore sketch")
        self.statusBar().showMessage("Restored the autosaved sketch", 6000)
        return True

    def show_about(self) -> None:
        from sketchpad.data.openmoji import OPENMOJI_CREDIT

        QMessageBox.about(
            self,
            "About Sketchpad",
            f"<h3>Sketchpad {__version__}</h3>"
            "<p>Draw lines; watch a GAN paint them while you draw. The generator is built from "
            "SketchyGAN's Masked Residual Units with conditional self-attention; a multi-depth "
            "PatchGAN discriminator judges every patch.</p>"
            "<p>Sketchpad is free software under the MIT licence.</p>"
            f"<p>{OPENMOJI_CREDIT} The default model was trained on these drawings.</p>",
        )

    def shutdown(self) -> None:
        """Stop the inference thread and whatever else registered a hook (idempotent)."""
        for hook in self._shutdown_hooks:
            hook()
        self.service.shutdown()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not all(guard() for guard in self._close_guards) or not self._settle_unsaved():
            event.ignore()
            return
        self._save_settings()
        self._autosave_timer.stop()
        self._autosave.remove()  # closed on purpose: nothing to restore next time
        self.shutdown()
        event.accept()
