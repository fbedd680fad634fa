"""The main window: the tabs (Draw, and whatever `add_tab` adds), the menus, the status bar,
and the wiring between the canvas, the sketch document, the inference service and settings.

Every dialog goes through a small method (`ask_open_path`, `ask_save_path`, `ask_model_path`,
`show_error`, `ask_save_changes`, `ask_restore`, `ask_export_size`) that tests replace, so
nothing blocks offscreen. Sketch dialogs start in the last sketch's folder, the model dialog
in the last model's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QUndoStack
from PySide6.QtWidgets import QDialog, QMainWindow, QMenu, QTabWidget, QWidget

from sketchpad.paths import assets_dir, default_model_path, examples_dir
from sketchpad.ui import dialogs
from sketchpad.ui.document import EXPORT_SIDE, SketchDocument
from sketchpad.ui.draw_tab import DrawTab
from sketchpad.ui.help import FIRST_RUN_TIP, AboutDialog, ShortcutsDialog, about_html
from sketchpad.ui.jobs import EngineFactory, Frame, ModelInfo, default_engine_factory
from sketchpad.ui.live import REST_MS, LiveGeneration
from sketchpad.ui.menus import build_menu_bar, window_menus
from sketchpad.ui.remote_dialog import RemoteControls
from sketchpad.ui.remote_link import RemoteFactory, default_remote_factory
from sketchpad.ui.settings import AppSettings, remember_window, restore_window
from sketchpad.ui.status_bar import StatusBar
from sketchpad.ui.variations import Variations
from sketchpad.ui.worker import InferenceService

MODEL_FILTER = "Sketchpad models (*.safetensors)"
FIT_TIP = (
    "The model learned drawings that fill most of the square: a small or off-centre one is "
    "painted enlarged and centred, then put back where you drew it"
)
NO_MODEL_TEXT = (
    "No model loaded.\n\nModel ▸ Open model… (Ctrl+Shift+O) opens a .safetensors model file "
    "(one made by `sketchpad train`)."
)


class MainWindow(LiveGeneration, QMainWindow):
    frameShown = Signal(object)
    """A generated picture (a worker `Frame`) is now in the result view."""
    modelChanged = Signal(object)
    """A model (`ModelInfo`) was loaded and is in use."""
    noModel = Signal(str)
    """Starting found no model that loads (the reason): the window has none to run."""

    # kept by the menu table (`menus.window_menus`)
    new_action: QAction
    export_action: QAction
    export_pair_action: QAction
    generate_action: QAction
    variation_action: QAction
    default_model_action: QAction
    undo_action: QAction
    redo_action: QAction
    recent_files_menu: QMenu
    recent_models_menu: QMenu
    examples_menu: QMenu
    help_examples_menu: QMenu
    clear_action: QAction
    shortcuts_action: QAction
    device_actions: dict[str, QAction]

    def __init__(
        self,
        settings: QSettings | None = None,
        engine_factory: EngineFactory | None = None,
        device: str | None = None,
        parent: QWidget | None = None,
        remote_factory: RemoteFactory = default_remote_factory,
    ) -> None:
        super().__init__(parent)
        self._close_guards: list[Callable[[], bool]] = []
        self._stopped_by: str | None = None
        """The signal that is closing the window (None: the user closes it)."""
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
        self.document = SketchDocument(self, self.canvas, self.undo_stack, self.settings, self)

        self._device = device or self.settings.device
        self._remembered_device = self._device
        """The device the next start asks for: a choice is kept once it ran (see
        `_device_ran`)."""
        self.service = InferenceService(
            engine_factory or default_engine_factory, self._device, remote_factory=remote_factory
        )
        self.remote = RemoteControls(
            self,
            self.service,
            self.settings.store,
            say=self.show_status,
            error=lambda title, text: self.show_error(title, text),
        )
        self.service.fit_to_frame = self.settings.fit_to_frame
        self.fit_action = QAction("&Fit small drawings to the model", self, checkable=True)
        self.fit_action.setChecked(self.service.fit_to_frame)
        self.fit_action.setToolTip(FIT_TIP)
        self.fit_action.setStatusTip(FIT_TIP)
        self.fit_action.toggled.connect(self.set_fit_to_frame)
        self.model: ModelInfo | None = None
        self.last_frame: Frame | None = None
        self._fallbacks: tuple[str, ...] = ()
        """The models to try, in turn, when the one loading fails (at start)."""
        self._failed: list[str] = []
        """Why the models tried before the one loading failed (at start), to say so."""
        self._asked = False
        """The first model tried at start was asked for (`--model`): a dialog says it failed."""
        self._seed = 0
        """The noise seed of the picture (a variation's, once one is clicked)."""
        self.variations = Variations(
            self.draw_tab.variation_strip,
            self.service,
            lambda: self.canvas.is_drawing,
            self,
            seed=self._seed,
        )
        self.want_verdicts = False
        """Ask the engine for the discriminator's verdicts with every picture (for overlays)."""
        self.probe: tuple[float, float] | None = None
        """(y, x) image fractions where the attention is probed with every picture, or None."""
        self._hints_noted = False
        self._rest_timer = QTimer(self)
        """Fires when the pen has rested a moment mid-stroke: the sketch is then final."""
        self._rest_timer.setSingleShot(True)
        self._rest_timer.setInterval(REST_MS)
        self._rest_timer.timeout.connect(self._on_pen_rested)

        self.status = StatusBar()
        self.setStatusBar(self.status)
        self.device_label = self.status.device_label
        self.model_label = self.status.model_label
        self.timing_label = self.status.timing_label
        self.status.set_idle_text(FIRST_RUN_TIP)  # until the first stroke
        self.shortcuts_dialog: ShortcutsDialog | None = None
        self.about_dialog: AboutDialog | None = None
        menus = window_menus(
            self,
            device=self._device,
            has_default_model=lambda: default_model_path().is_file(),
            examples_folder=examples_dir,
        )
        build_menu_bar(self.menuBar(), menus, self)
        self._connect()
        restore_window(self.settings, self, self.draw_tab)
        self.result_view.set_message(NO_MODEL_TEXT)

    # -- construction ------------------------------------------------------------------------

    def _connect(self) -> None:
        self.canvas.sketchChanged.connect(self.variations.sketch_changed)
        self.canvas.sketchChanged.connect(self._on_sketch_changed)
        self.canvas.fileDropped.connect(self.document.open)
        self.draw_tab.generateRequested.connect(self.generate)
        self.draw_tab.variationRequested.connect(self.new_variation)
        self.draw_tab.toolStatus.connect(lambda text: self.show_status(text, 6000))
        self.variations.seedChosen.connect(self.keep_seed)
        self.draw_tab.liveToggled.connect(self._on_live_toggled)
        self.draw_tab.overlayRequestChanged.connect(self._on_overlay_request)
        self.draw_tab.overlayStatus.connect(self._show_overlay_status)
        self.service.frameReady.connect(self._on_frame)
        self.service.jobFailed.connect(lambda _id, msg: self.show_status(msg, 8000))
        self.service.variationFailed.connect(
            lambda i, msg: self.show_status(f"Variation {i + 1}: {msg}", 8000)
        )
        self.service.modelLoaded.connect(self._on_model_loaded)
        self.service.modelFailed.connect(self._on_model_failed)
        self.service.deviceChanged.connect(self._on_device_changed)

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
        """A sketch (or picture) to open, from the folder of the last sketch."""
        folder = dialogs.sketch_folder(self.settings.last_folder)
        return dialogs.ask_open_path(self, title, folder, name_filter)

    def ask_save_path(self, title: str, suggested: str, name_filter: str) -> str | None:
        """Where to save a sketch or an export: the last sketch's folder (not an example's)."""
        folder = dialogs.sketch_folder(self.settings.last_folder, avoid=assets_dir())
        return dialogs.ask_save_path(self, title, folder, suggested, name_filter)

    def ask_model_path(self) -> str | None:
        """A model file to open, from the folder of the last model opened."""
        folder = dialogs.model_folder(self.settings.model_folder, self.settings.last_model)
        return dialogs.ask_open_path(self, "Open model", folder, MODEL_FILTER)

    def show_error(self, title: str, text: str) -> None:
        dialogs.show_error(self, title, text)

    def ask_save_changes(self) -> str:
        """ "save", "discard" or "cancel"."""
        return dialogs.ask_save_changes(self)

    def ask_export_size(self, native: int) -> int | None:
        """The side of an exported result (`native`: the model's), or None (cancelled)."""
        return dialogs.ask_export_size(self, native, EXPORT_SIDE)

    def ask_restore(self, stopped: bool) -> bool:
        return dialogs.ask_restore(self, stopped)

    def show_shortcuts(self) -> None:
        """Every shortcut the window has now (built anew each time), and the mouse gestures."""
        self.shortcuts_dialog = _replace_dialog(self.shortcuts_dialog, ShortcutsDialog(self))

    def show_about(self) -> None:
        text = about_html(self.model, self.device_label.text())
        self.about_dialog = _replace_dialog(self.about_dialog, AboutDialog(self, text))

    def show_status(self, text: str, timeout_ms: int = 0) -> None:
        self.statusBar().showMessage(text, timeout_ms)

    # -- models and devices ------------------------------------------------------------------

    def start(self, model_path: str | None = None) -> None:
        """Load the first model: `model_path`, else the last one used, else the default; when
        one fails the next is tried, and the window says which one it uses instead. Without
        any, the window says how to open one (and `noModel` says so)."""
        candidates = [model_path] if model_path else []
        last = self.settings.last_model
        if last and Path(last).is_file():
            candidates.append(last)
        if default_model_path().is_file():
            candidates.append(str(default_model_path()))
        candidates = list(dict.fromkeys(candidates))  # the default may be the last one used
        if not candidates:
            self.show_status("No model loaded: Model ▸ Open model… opens one", 0)
            self.noModel.emit("no model file to open (the default model is not installed)")
            return
        self.open_model(candidates[0], fallbacks=candidates[1:])
        self._asked = bool(model_path)

    def open_model(self, path: str | Path, fallbacks: Sequence[str | Path] = ()) -> None:
        """Load a model in the worker; the current one stays until the new one is ready, and
        stays for good if it fails. If it fails, the `fallbacks` are tried in turn."""
        self._fallbacks = tuple(str(p) for p in fallbacks)
        self._failed, self._asked = [], False
        self._load(path)

    def _load(self, path: str | Path) -> None:
        self.show_status(f"Loading {Path(path).name}…")
        self.service.load_model(str(path))

    def open_model_dialog(self) -> None:
        path = self.ask_model_path()
        if path:
            self.settings.model_folder = str(Path(path).parent)
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
        self.open_model(path)

    def set_fit_to_frame(self, on: bool) -> None:
        """Model ▸ Fit small drawings toggled (`fit_action.setChecked` is the way to call it):
        the model paints a small drawing enlarged and centred, and the picture is put back
        where it was drawn (kept for the next start)."""
        self.service.fit_to_frame = self.settings.fit_to_frame = bool(on)
        self.show_status(
            "Small drawings are painted enlarged, then put back"
            if on
            else "Drawings are painted as drawn, at their size",
            4000,
        )
        self.generate()
        self.variations.sketch_changed()

    def set_device(self, name: str) -> None:
        """Run the model on `name`. The next start asks for it too once it runs (a device
        that falls back to the CPU is not remembered)."""
        self._device = name
        if name in self.device_actions:
            self.device_actions[name].setChecked(True)
        if self.remote.active:  # the server runs the model on its own device
            self.show_status(
                f"The remote generator chooses its own device; the local model will use "
                f"{name.upper()}",
                6000,
            )
        else:
            self.show_status(f"Switching to {name.upper()}…", 3000)
        self.service.set_device(name)

    def _device_ran(self, fell_back: bool) -> None:
        """The device asked for ran (`fell_back` False): the next start asks for it. It fell
        back to the CPU: the next start asks for the last choice that ran, or "auto" when it
        was this one, so a failed choice never greets the next start with the same failure."""
        if not fell_back:
            remembered = self._device
        elif self._remembered_device == self._device:
            remembered = "auto"
        else:
            return
        if remembered != self._remembered_device:
            self._remembered_device = self.settings.device = remembered

    def _on_model_loaded(self, info: ModelInfo) -> None:
        self.model = info
        if not info.remote:  # a server is not a model file to reopen
            self._device_ran(bool(info.fallback_reason))
            self.settings.last_model = info.path
            self.settings.add_recent_model(info.path)
        self.status.show_model(info)
        self.draw_tab.set_model_inputs(info.takes_hints, info.takes_noise)
        self.variations.set_enabled(info.takes_noise)
        self.draw_tab.set_overlay_model(info.branches, info.attention_levels, info.resolution)
        self.result_view.set_message("")
        if self._failed:  # at start a model failed: say which one runs instead
            instead = f"Using {info.name} instead."
            self.show_status(f"{self._failed[0]} {instead}", 15000)
            if self._asked:
                self.show_error("Cannot open model", "\n\n".join([*self._failed, instead]))
            self._failed, self._asked = [], False
        elif not info.fallback_reason and not info.remote:
            self.show_status(f"Model {info.name} loaded", 4000)
        self._hints_noted = False
        self.note_ignored_hints()
        self.modelChanged.emit(info)
        self.generate()

    def _on_model_failed(self, path: str, message: str) -> None:
        if self._fallbacks:  # at start: the model asked for is gone or broken, try the next
            self._failed.append(_naming(path, message))
            self.show_status(self._failed[-1], 8000)
            path, self._fallbacks = self._fallbacks[0], self._fallbacks[1:]
            self._load(path)
            return
        keep = f" {self.model.name} stays loaded." if self.model else ""
        self.show_status(f"Could not open {Path(path).name}.{keep}", 8000)
        earlier, self._failed, self._asked = self._failed, [], False
        self.show_error("Cannot open model", "\n\n".join([*earlier, message, keep.strip()]).strip())
        if self.model is None:
            self.noModel.emit("; ".join([*earlier, _naming(path, message)]))

    def _on_device_changed(self, text: str, reason: str) -> None:
        self._device_ran(bool(reason))
        self.status.show_device(text, reason)
        if not reason:
            self.show_status(f"Now running on {text}", 4000)
        self.generate()

    # -- the sketch document -----------------------------------------------------------------

    def export_result(self) -> bool:
        return self.document.export_result(self.last_frame)

    def export_side_by_side(self) -> bool:
        resolution = self.model.picture_side if self.model else None
        return self.document.export_side_by_side(self.last_frame, resolution)

    def offer_restore(self) -> bool:
        """After a crash or kill the autosaved sketch is still there: offer to restore it."""
        return self.document.offer_restore()

    # -- closing -----------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop the inference thread and whatever else registered a hook (idempotent)."""
        for hook in self._shutdown_hooks:
            hook()
        self.service.shutdown()

    def stop(self, why: str) -> None:
        """Close for the system (`why`: a signal's name, SIGTERM at logout): nothing asks,
        unsaved work stays in the autosave for the next start to offer."""
        self._stopped_by = why
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._stopped_by is not None:
            remember_window(self.settings, self, self.draw_tab, self._remembered_device)
            self.document.keep_for_next_start(self._stopped_by)
            self.shutdown()
            event.accept()
            return
        if not all(guard() for guard in self._close_guards) or not self.document.settle_unsaved():
            event.ignore()
            return
        remember_window(self.settings, self, self.draw_tab, self._remembered_device)
        self.document.close()
        self.shutdown()
        event.accept()


def _replace_dialog(old: QDialog | None, new: QDialog) -> QDialog:
    """Show `new` (modeless) in place of `old`, which closes."""
    if old is not None:
        old.close()
    new.show()
    return new


def _naming(path: str, message: str) -> str:
    """`message` about the model file `path`, naming the file if it does not already."""
    name = Path(path).name
    return message if name in message else f"Could not open {name}: {message}"
