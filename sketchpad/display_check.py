"""Before the window's QApplication exists: is there a display, and can Qt's X11 platform
plugin load? Without a display, or without the X libraries Qt 6.5+ needs (libxcb-cursor0 and
friends, missing on minimal systems), Qt prints a long message and aborts the process; this
check says instead, in one paragraph, what is missing and which packages bring it.

No Qt here: the plugin is found on disk (PySide6's folder, or the bundle's) and its needed
libraries are read from its ELF header and opened with the dynamic loader, as Qt would.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
import re
import struct
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

PACKAGES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
}
"""The Debian/Ubuntu package of each library the X11 plugin (and its Qt library) links to."""

Loader = Callable[[str], None]
"""Opens a shared library by file name or path; raises OSError (the loader's message)."""


def needed_libraries(path: Path) -> list[str]:
    """The DT_NEEDED entries of the ELF file `path` (64- or 32-bit, either byte order); []
    when it is not an ELF file."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF":
        return []
    wide, order = data[4] == 2, "<" if data[5] == 1 else ">"
    if wide:
        (shoff,) = struct.unpack_from(order + "Q", data, 0x28)
        shentsize, shnum = struct.unpack_from(order + "HH", data, 0x3A)
        header, entry = order + "IIQQQQIIQQ", order + "qQ"
    else:
        (shoff,) = struct.unpack_from(order + "I", data, 0x20)
        shentsize, shnum = struct.unpack_from(order + "HH", data, 0x2E)
        header, entry = order + "IIIIIIIIII", order + "iI"
    sections = [struct.unpack_from(header, data, shoff + i * shentsize) for i in range(shnum)]
    names: list[str] = []
    for section in sections:
        if section[1] != 6:  # SHT_DYNAMIC
            continue
        offset, size, link = section[4], section[5], section[6]
        strtab = sections[link][4]
        step = struct.calcsize(entry)
        for at in range(offset, offset + size, step):
            tag, value = struct.unpack_from(entry, data, at)
            if tag == 0:  # DT_NULL
                break
            if tag == 1:  # DT_NEEDED
                end = data.index(b"\0", strtab + value)
                names.append(data[strtab + value : end].decode())
    return names


def xcb_plugin() -> Path | None:
    """libqxcb.so in PySide6's plugin folder (in the bundle too), or None."""
    spec = importlib.util.find_spec("PySide6")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        plugin = Path(folder) / "Qt" / "plugins" / "platforms" / "libqxcb.so"
        if plugin.is_file():
            return plugin
    return None


def _dlopen(name: str) -> None:
    ctypes.CDLL(name, mode=os.RTLD_LAZY | os.RTLD_LOCAL)


def missing_libraries(
    plugin: Path,
    load: Loader = _dlopen,
    needed: Callable[[Path], list[str]] = needed_libraries,
) -> list[str]:
    """The libraries the plugin needs that the loader cannot find ([] when it loads). Qt's
    own libraries are opened from the Qt folder beside the plugin; a library that loads no
    further because of one it needs itself names that one (the loader's message does)."""
    try:
        load(str(plugin))
        return []
    except OSError:
        pass
    qt_lib = plugin.parent.parent.parent / "lib"
    missing: list[str] = []
    seen: set[str] = set()
    queue = [plugin]
    while queue:
        for name in needed(queue.pop()):
            if name in seen:
                continue
            seen.add(name)
            local = qt_lib / name
            if local.is_file():
                queue.append(local)  # Qt's xcb library holds most of the X dependencies
                continue
            try:
                load(name)
            except OSError as exc:
                missing.append(_named_in(str(exc), name))
    return list(dict.fromkeys(missing))


def _named_in(message: str, fallback: str) -> str:
    """The library a loader's message says cannot be opened ("libx.so.1: cannot open ...")."""
    match = re.match(r"\s*([^\s:]+\.so[^\s:]*)\s*:", message)
    return Path(match.group(1)).name if match else fallback


def display_problem(
    env: Mapping[str, str] | None = None,
    plugin: Path | None | Callable[[], Path | None] = xcb_plugin,
    load: Loader = _dlopen,
    needed: Callable[[Path], list[str]] = needed_libraries,
    platform: str = sys.platform,
) -> str | None:
    """Why the window cannot open here (one paragraph a user can act on), or None."""
    env = os.environ if env is None else env
    if not platform.startswith("linux"):
        return None
    asked = env.get("QT_QPA_PLATFORM", "").split(":")[0].split(";")[0].strip().lower()
    wayland = bool(env.get("WAYLAND_DISPLAY"))
    if asked and asked != "xcb":
        if asked.startswith("wayland") and not wayland:
            return (
                "Sketchpad cannot open its window: QT_QPA_PLATFORM asks for Wayland but "
                "WAYLAND_DISPLAY is not set (no Wayland session). Run it in a desktop "
                "session, or unset QT_QPA_PLATFORM."
            )
        return None  # offscreen, vnc, eglfs...: Qt's own choice, nothing to check here
    if not env.get("DISPLAY"):
        if wayland and not asked:
            return None  # Qt picks Wayland
        return (
            "Sketchpad cannot open its window: there is no display (neither DISPLAY nor "
            "WAYLAND_DISPLAY is set). Run it in a desktop session, over `ssh -X`, or under "
            "`xvfb-run`; the headless commands (`sketchpad train`, `generate`, `--self-test`) "
            "need no display."
        )
    found = plugin() if callable(plugin) else plugin
    if found is None:
        return None  # no X11 plugin to check: leave it to Qt
    missing = missing_libraries(found, load, needed)
    if not missing:
        return None
    return _missing_text(missing, wayland)


def _missing_text(missing: Iterable[str], wayland: bool) -> str:
    missing = list(missing)
    packages = sorted({PACKAGES.get(name, "") for name in missing} - {""})
    text = (
        "Sketchpad cannot open its window: Qt's X11 platform plugin needs system libraries "
        f"that are not installed ({', '.join(missing)})."
    )
    if packages:
        text += f" Install them with: sudo apt install {' '.join(packages)}"
        text += " (other systems: the packages that provide these files)."
    else:
        text += " Install the packages that provide these files."
    if wayland:
        text += " In a Wayland session you can also run it with QT_QPA_PLATFORM=wayland."
    return text
