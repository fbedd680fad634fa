"""The check before the window's QApplication: no display, or an X11 plugin whose libraries
are missing, gives one paragraph naming them (and the packages), not Qt's abort."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sketchpad.display_check import (
    PACKAGES,
    display_problem,
    missing_libraries,
    needed_libraries,
    xcb_plugin,
)

ROOT = Path(__file__).resolve().parent.parent


def _fake_qt(tmp_path: Path) -> Path:
    """A plugin folder laid out like PySide6's: plugins/platforms/libqxcb.so, lib/."""
    plugin = tmp_path / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    plugin.parent.mkdir(parents=True)
    plugin.write_bytes(b"plugin")
    (tmp_path / "Qt" / "lib").mkdir()
    (tmp_path / "Qt" / "lib" / "libQt6XcbQpa.so.6").write_bytes(b"qt")
    return plugin


NEEDS = {
    "libqxcb.so": ["libQt6XcbQpa.so.6", "libxcb-cursor.so.0"],
    "libQt6XcbQpa.so.6": ["libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libxcb.so.1"],
}


def _loader(absent: set[str], fails_because: dict[str, str] | None = None):
    """A dynamic loader where the `absent` libraries are not installed; a library in
    `fails_because` is there but needs the missing one named."""
    fails_because = fails_because or {}

    def load(name: str) -> None:
        base = Path(name).name
        if base == "libqxcb.so" and (absent or fails_because):
            raise OSError(f"{sorted(absent)[0] if absent else 'x'}: cannot open shared object")
        if base in absent:
            raise OSError(f"{base}: cannot open shared object file: No such file or directory")
        if base in fails_because:
            raise OSError(f"{fails_because[base]}: cannot open shared object file")

    return load


def _needed(path: Path) -> list[str]:
    return NEEDS.get(path.name, [])


def test_missing_libraries_are_named_with_their_packages(tmp_path):
    plugin = _fake_qt(tmp_path)
    load = _loader({"libxcb-icccm.so.4", "libxcb-keysyms.so.1"})
    assert missing_libraries(plugin, load, _needed) == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    text = display_problem({"DISPLAY": ":0"}, plugin, load, _needed, "linux")
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1" in text
    assert "sudo apt install libxcb-icccm4 libxcb-keysyms1" in text
    assert "wayland" not in text.lower() and "\n" not in text


def test_a_library_that_needs_a_missing_one_names_that_one(tmp_path):
    plugin = _fake_qt(tmp_path)
    load = _loader(set(), {"libxcb-cursor.so.0": "libxcb-image.so.0"})
    assert missing_libraries(plugin, load, _needed) == ["libxcb-image.so.0"]
    text = display_problem({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, plugin, load, _needed)
    assert "sudo apt install libxcb-image0" in text and "QT_QPA_PLATFORM=wayland" in text


def test_a_plugin_that_loads_is_fine(tmp_path):
    plugin = _fake_qt(tmp_path)
    assert display_problem({"DISPLAY": ":0"}, plugin, _loader(set()), _needed, "linux") is None


def test_no_display_at_all(tmp_path):
    def never(_name: str) -> None:
        raise AssertionError("nothing to load without a display")

    text = display_problem({}, _fake_qt(tmp_path), never, _needed, "linux")
    assert "no display" in text and "xvfb-run" in text
    assert display_problem({"WAYLAND_DISPLAY": "w"}, None, never, _needed, "linux") is None
    wayland = display_problem({"QT_QPA_PLATFORM": "wayland"}, None, never, _needed, "linux")
    assert "WAYLAND_DISPLAY" in wayland


def test_other_platforms_are_left_to_qt(tmp_path):
    def never(_name: str) -> None:
        raise AssertionError("not checked")

    plugin = _fake_qt(tmp_path)
    for env in ({"QT_QPA_PLATFORM": "offscreen"}, {"QT_QPA_PLATFORM": "vnc:size=800x600"}):
        assert display_problem(env, plugin, never, _needed, "linux") is None
    assert display_problem({}, plugin, never, _needed, "darwin") is None


def test_the_real_plugins_needed_libraries_are_read():
    plugin = xcb_plugin()
    assert plugin is not None
    needed = needed_libraries(plugin)
    assert "libQt6XcbQpa.so.6" in needed and "libxcb-cursor.so.0" in needed
    assert needed_libraries(ROOT / "README.md") == []


def test_the_app_exits_2_with_the_paragraph_without_a_display(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("QT_QPA_PLATFORM", None)
    env.update(SKETCHPAD_DATA_DIR=str(tmp_path), PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "sketchpad"], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 2, proc.stderr
    assert "there is no display" in proc.stderr and "Traceback" not in proc.stderr


def test_every_x_library_the_real_plugin_needs_has_its_package_named():
    """What the missing-libraries paragraph and build.spec rely on: the X libraries of the
    plugin and of Qt's xcb library (read from their ELF headers) each map to a package."""
    plugin = xcb_plugin()
    qt_lib = plugin.parent.parent.parent / "lib"
    needed = set(needed_libraries(plugin)) | set(needed_libraries(qt_lib / "libQt6XcbQpa.so.6"))
    x_libraries = {n for n in needed if n.startswith(("libxcb", "libxkbcommon"))}
    assert "libxcb-icccm.so.4" in x_libraries and "libxcb-cursor.so.0" in x_libraries
    assert x_libraries <= set(PACKAGES), x_libraries - set(PACKAGES)
