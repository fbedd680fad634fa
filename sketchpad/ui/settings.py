"""The app's persistent settings (QSettings "Sketchpad"/"Sketchpad"), with types and defaults.

Where `SKETCHPAD_CONFIG_DIR` names a config folder (a portable install, a benchmark that
launches the app with fresh folders), the settings live there too, in `settings.ini`, like the
server's token. Tests pass their own QSettings (an INI file in a temporary folder) so that they
never touch the user's settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings

from sketchpad.paths import settings_file

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMainWindow

    from sketchpad.ui.draw_tab import DrawTab

ORGANISATION = APPLICATION = "Sketchpad"
MAX_RECENT = 8


def default_store() -> QSettings:
    """The user's settings: the platform's place for them, or `settings.ini` in the folder
    `SKETCHPAD_CONFIG_DIR` names."""
    path = settings_file()
    if path is None:
        return QSettings(ORGANISATION, APPLICATION)
    return QSettings(str(path), QSettings.Format.IniFormat)


class AppSettings:
    def __init__(self, store: QSettings | None = None) -> None:
        self.store = store if store is not None else default_store()

    def _get(self, key: str, default, kind):
        value = self.store.value(key, default)
        try:
            return kind(value) if value is not None else default
        except (TypeError, ValueError):
            return default

    def _list(self, key: str) -> list[str]:
        value = self.store.value(key, [])
        if value is None:
            return []
        if isinstance(value, str):
            return [value] if value else []
        return [str(v) for v in value]

    def _bool(self, key: str, default: bool) -> bool:
        value = self.store.value(key, default)
        if isinstance(value, str):
            return value.lower() in ("true", "1", "yes")
        return bool(value)

    # -- values ------------------------------------------------------------------------------

    @property
    def device(self) -> str:
        return self._get("device", "auto", str)

    @device.setter
    def device(self, name: str) -> None:
        self.store.setValue("device", name)

    @property
    def brush_size(self) -> int:
        return self._get("brush/size", 6, int)

    @brush_size.setter
    def brush_size(self, size: int) -> None:
        self.store.setValue("brush/size", int(size))

    @property
    def tool(self) -> str:
        return self._get("brush/tool", "brush", str)

    @tool.setter
    def tool(self, tool: str) -> None:
        self.store.setValue("brush/tool", tool)

    @property
    def hint_colours(self) -> list[str]:
        """The recent hint colours, "#rrggbb", in the palette row's order."""
        return self._list("hints/recent")

    @hint_colours.setter
    def hint_colours(self, names: list[str]) -> None:
        self.store.setValue("hints/recent", list(names))

    @property
    def hint_colour(self) -> str:
        """The hint colour in use, "#rrggbb" ("": the first recent one)."""
        return self._get("hints/colour", "", str)

    @hint_colour.setter
    def hint_colour(self, name: str) -> None:
        self.store.setValue("hints/colour", name)

    @property
    def live(self) -> bool:
        return self._bool("live", True)

    @live.setter
    def live(self, on: bool) -> None:
        self.store.setValue("live", bool(on))

    @property
    def fit_to_frame(self) -> bool:
        """Model ▸ Fit small drawings: on unless turned off."""
        return self._bool("model/fit_to_frame", True)

    @fit_to_frame.setter
    def fit_to_frame(self, on: bool) -> None:
        self.store.setValue("model/fit_to_frame", bool(on))

    @property
    def last_model(self) -> str:
        return self._get("model/last", "", str)

    @last_model.setter
    def last_model(self, path: str) -> None:
        self.store.setValue("model/last", path)

    @property
    def last_folder(self) -> str:
        """The folder a sketch was last opened from, saved or exported to."""
        return self._get("files/last_folder", "", str)

    @last_folder.setter
    def last_folder(self, folder: str) -> None:
        self.store.setValue("files/last_folder", folder)

    @property
    def model_folder(self) -> str:
        """The folder a model was last opened from (Model ▸ Open model…)."""
        return self._get("model/last_folder", "", str)

    @model_folder.setter
    def model_folder(self, folder: str) -> None:
        self.store.setValue("model/last_folder", folder)

    def recent_models(self) -> list[str]:
        return self._list("model/recent")

    def add_recent_model(self, path: str) -> None:
        self.store.setValue("model/recent", _push_front(self.recent_models(), path))

    def recent_files(self) -> list[str]:
        return self._list("files/recent")

    def add_recent_file(self, path: str) -> None:
        self.store.setValue("files/recent", _push_front(self.recent_files(), path))

    def geometry(self, key: str) -> QByteArray | None:
        value = self.store.value(f"window/{key}")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_geometry(self, key: str, state: QByteArray) -> None:
        self.store.setValue(f"window/{key}", state)

    def sync(self) -> None:
        self.store.sync()


def restore_window(settings: AppSettings, window: QMainWindow, draw_tab: DrawTab) -> None:
    """The window and the Draw tab as they were left: size and place, splitter, brush, the
    hint colours, Live."""
    if (geometry := settings.geometry("geometry")) is not None:
        window.restoreGeometry(geometry)
    else:
        window.resize(1180, 720)
    if (state := settings.geometry("splitter")) is not None:
        draw_tab.splitter.restoreState(state)
    canvas = draw_tab.canvas
    canvas.set_brush_size(settings.brush_size)
    canvas.set_tool(settings.tool if settings.tool in ("brush", "eraser") else "brush")
    draw_tab.live_box.setChecked(settings.live)
    palette = draw_tab.hints.palette
    palette.set_recent(settings.hint_colours, settings.hint_colour)
    palette.recentChanged.connect(lambda names: setattr(settings, "hint_colours", names))
    palette.colourChosen.connect(lambda colour: setattr(settings, "hint_colour", colour.name()))


def remember_window(
    settings: AppSettings, window: QMainWindow, draw_tab: DrawTab, device: str
) -> None:
    """What `restore_window` restores, and the device, written to disk."""
    settings.set_geometry("geometry", window.saveGeometry())
    settings.set_geometry("splitter", draw_tab.splitter.saveState())
    settings.brush_size = draw_tab.canvas.brush_size
    settings.tool = draw_tab.canvas.tool
    settings.live = draw_tab.live
    settings.device = device
    settings.sync()


def _push_front(items: list[str], item: str) -> list[str]:
    return [item, *[i for i in items if i != item]][:MAX_RECENT]
