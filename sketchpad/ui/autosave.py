"""The autosaved sketch: written to the user data folder after every edit, removed when the app
closes on purpose, so that finding it at start means the last session crashed or was killed."""

from __future__ import annotations

import contextlib
from pathlib import Path

from PySide6.QtGui import QImage

from sketchpad.paths import user_data_dir
from sketchpad.ui.pictures import save_png

AUTOSAVE_NAME = "autosave.png"


class Autosave:
    @property
    def path(self) -> Path:
        return user_data_dir() / AUTOSAVE_NAME

    def write(self, image: QImage) -> None:
        """Raises DataError when the folder cannot be written."""
        save_png(image, self.path)

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink(missing_ok=True)

    def load(self) -> QImage | None:
        """The sketch left by a session that did not close properly, or None."""
        if not self.path.is_file():
            return None
        image = QImage(str(self.path))
        return None if image.isNull() else image
