"""Where things live: shipped assets (source tree or bundle) and the user's folders."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "Sketchpad"


def assets_dir() -> Path:
    """The shipped assets: inside a PyInstaller bundle, or beside the package in the source tree."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "assets"
    return Path(__file__).resolve().parent.parent / "assets"


def default_model_path() -> Path:
    return assets_dir() / "default" / "model.safetensors"


def examples_dir() -> Path:
    return assets_dir() / "examples"


def app_icon_path() -> Path:
    """The app's icon (256 px PNG; `scripts/make_icon.py` draws it)."""
    return assets_dir() / "icons" / "sketchpad.png"


def user_data_dir() -> Path:
    """The user's data folder; `SKETCHPAD_DATA_DIR` overrides it (tests, portable installs)."""
    override = os.environ.get("SKETCHPAD_DATA_DIR")
    path = (
        Path(override) if override else Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    )
    path.mkdir(parents=True, exist_ok=True)
    return path


def user_config_dir() -> Path:
    """The user's config folder (the server's token; the app's settings when overridden);
    `SKETCHPAD_CONFIG_DIR` overrides it (tests, portable installs)."""
    override = os.environ.get("SKETCHPAD_CONFIG_DIR")
    path = (
        Path(override)
        if override
        else Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))
    )
    path.mkdir(parents=True, exist_ok=True)
    return path


def settings_file() -> Path | None:
    """The app's settings file where `SKETCHPAD_CONFIG_DIR` overrides the config folder
    (`settings.ini` there); None: the platform's own place for them (QSettings' default)."""
    if not os.environ.get("SKETCHPAD_CONFIG_DIR"):
        return None
    return user_config_dir() / "settings.ini"


def user_cache_dir() -> Path:
    """The user's cache folder; `SKETCHPAD_CACHE_DIR` overrides it (tests, portable installs)."""
    override = os.environ.get("SKETCHPAD_CACHE_DIR")
    path = (
        Path(override) if override else Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))
    )
    path.mkdir(parents=True, exist_ok=True)
    return path


def autosave_dir() -> Path:
    """Where running app instances keep their autosaved sketches, one slot each."""
    return user_data_dir() / "autosave"
