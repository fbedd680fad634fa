"""The Train tab's data section: choose OpenMoji or a folder, see what was detected (kind,
counts, skipped files) and a preview grid of (sketch | target) pairs exactly as the trainer
will see them, photos' extracted lines included.

Opening a source can take seconds (OpenMoji renders its 2,166 drawings once per resolution,
photos get their lines extracted), so nothing is chosen when the tab opens, and the preview of
the chosen source is built on a worker thread, with progress; the newest request wins.
"""

from __future__ import annotations

import html

from PIL import Image
from PySide6.QtCore import QCoreApplication, QObject, QRunnable, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QImage, QPainter, QPaintEvent, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from sketchpad.data.preview import KIND_NAMES, DataSummary
from sketchpad.errors import SketchpadError

__all__ = ["KIND_NAMES", "DataPanel", "DataSummary", "PictureView", "PreviewJob", "pil_to_qimage"]

PREVIEW_PAIRS = 8
SKIPPED_LISTED = 30
"""Skipped files named one per line in the tooltip; the rest are counted."""
KINDS = (
    ("detect", "Detect automatically"),
    ("paired", "Paired: sketches/ and images/"),
    ("aligned", "Aligned: sketch | picture side by side"),
    ("photos", "Photos: lines are extracted"),
)


def pil_to_qimage(image: Image.Image) -> QImage:
    rgb = image.convert("RGB")
    data = rgb.tobytes()
    qimage = QImage(data, rgb.width, rgb.height, 3 * rgb.width, QImage.Format.Format_RGB888)
    return qimage.copy()  # owns its pixels once `data` is gone


class _PreviewSignals(QObject):
    ready = Signal(int, QImage, object)  # token, contact sheet, DataSummary
    failed = Signal(int, str)
    progress = Signal(int, int, int)  # token, done, total

    def __init__(self) -> None:
        super().__init__()
        self.wanted: tuple[str, int] | None = None
        """(spec, resolution) of the newest request; a job for anything else gives up."""
        self.closed = False


class PreviewCancelled(Exception):
    """Raised inside a preview job whose result nobody wants any more."""


class PreviewJob(QRunnable):
    """Open a data spec and draw its contact sheet, off the GUI thread."""

    def __init__(
        self, token: int, spec: str, resolution: int, seed: int, signals: _PreviewSignals
    ) -> None:
        super().__init__()
        self.token, self.spec, self.resolution, self.seed = token, spec, resolution, seed
        self.signals = signals

    def run(self) -> None:
        from sketchpad.data import AugmentConfig, make_contact_sheet, open_source

        def progress(done: int, total: int) -> None:
            if self.signals.closed or self.signals.wanted != (self.spec, self.resolution):
                raise PreviewCancelled  # a long OpenMoji render for a superseded choice
            self.signals.progress.emit(self.token, done, total)

        try:
            dataset = open_source(
                self.spec,
                resolution=self.resolution,
                split="train",
                augment=AugmentConfig(),
                progress=progress,
                warn=False,  # the panel shows the report; nothing for stderr
            )
            sheet = make_contact_sheet(dataset, PREVIEW_PAIRS, self.seed)
            summary = DataSummary(
                kind=dataset.kind,
                detected=dataset.detected,
                detection=dataset.detection,
                counts=dict(dataset.counts),
                skipped=dataset.skipped,
                description=dataset.describe(list_skipped_files=True, limit=SKIPPED_LISTED),
            )
        except PreviewCancelled:
            return
        except SketchpadError as exc:
            self.signals.failed.emit(self.token, str(exc))
            return
        except Exception as exc:  # a worker thread must report, never die silently
            self.signals.failed.emit(
                self.token, f"Could not read the data ({type(exc).__name__}: {exc})"
            )
            return
        self.signals.ready.emit(self.token, pil_to_qimage(sheet), summary)


class PictureView(QWidget):
    """A picture scaled to fit, aspect kept; pixel-sharp when enlarged."""

    def __init__(self, placeholder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pixmap: QPixmap | None = None
        self.placeholder = placeholder
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_image(self, image: QImage | None) -> None:
        self._pixmap = (
            QPixmap.fromImage(image) if image is not None and not image.isNull() else None
        )
        self.update()

    def has_image(self) -> bool:
        return self._pixmap is not None

    def image_size(self) -> tuple[int, int] | None:
        return (self._pixmap.width(), self._pixmap.height()) if self._pixmap else None

    def set_placeholder(self, text: str) -> None:
        self.placeholder = text
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        rect = self.rect()
        if self._pixmap is None:
            painter.setPen(self.palette().placeholderText().color())
            painter.drawText(
                rect, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.placeholder
            )
            return
        size = self._pixmap.size().scaled(rect.size(), Qt.AspectRatioMode.KeepAspectRatio)
        smooth = size.width() < self._pixmap.width()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
        x = rect.x() + (rect.width() - size.width()) // 2
        y = rect.y() + (rect.height() - size.height()) // 2
        painter.drawPixmap(x, y, size.width(), size.height(), self._pixmap)


class DataPanel(QWidget):
    """Source chooser, detected kind and counts, preview grid. `spec()` is the `--data` value."""

    specChanged = Signal(str)
    previewReady = Signal(object)
    """A `DataSummary`: the preview for the current spec is shown."""
    previewFailed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.resolution = 128
        self.summary: DataSummary | None = None
        self.error: str | None = None
        self._seed = 0
        self._token = 0
        self._pending = True
        self._inputs_enabled = True
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._signals = _PreviewSignals()
        self._signals.ready.connect(self._on_ready)
        self._signals.failed.connect(self._on_failed)
        self._signals.progress.connect(self._on_progress)
        self._debounce = QTimer(self, singleShot=True, interval=300)
        self._debounce.timeout.connect(self.refresh_preview)
        if (app := QCoreApplication.instance()) is not None:
            app.aboutToQuit.connect(self.cancel)

        self.source_box = QComboBox()
        self.source_box.addItem("Choose the data…", None)
        self.source_box.addItem("OpenMoji drawings (built in)", "openmoji")
        self.source_box.addItem("A folder of my pictures", "folder")
        self.folder_edit = QLineEdit()
        self.folder_edit.setPlaceholderText("Folder of pictures")
        self.browse_button = QPushButton("Browse…")
        self.kind_box = QComboBox()
        for key, text in KINDS:
            self.kind_box.addItem(text, key)
        self.info_label = QLabel()
        self.info_label.setWordWrap(True)
        self.info_label.setTextFormat(Qt.TextFormat.RichText)
        self.preview = PictureView("The preview appears here.")
        self.preview.setMinimumHeight(180)
        self.shuffle_button = QPushButton("Other pairs")
        self.shuffle_button.setToolTip("Show other pairs from the training set")

        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(QLabel("Source"), 0, 0)
        grid.addWidget(self.source_box, 0, 1, 1, 2)
        grid.addWidget(QLabel("Folder"), 1, 0)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(self.browse_button)
        grid.addLayout(folder_row, 1, 1, 1, 2)
        grid.addWidget(QLabel("Kind"), 2, 0)
        grid.addWidget(self.kind_box, 2, 1, 1, 2)
        grid.addWidget(self.info_label, 3, 0, 1, 3)
        preview_box = QVBoxLayout()
        preview_box.addWidget(self.preview, 1)
        hint = QLabel("Pairs as the trainer sees them: sketch | target, augmented.")
        hint.setWordWrap(True)
        hint.setStyleSheet("color: palette(placeholder-text);")
        bottom = QHBoxLayout()
        bottom.addWidget(hint, 1)
        bottom.addWidget(self.shuffle_button)
        preview_box.addLayout(bottom)
        grid.addLayout(preview_box, 4, 0, 1, 3)
        grid.setColumnStretch(1, 1)

        self.source_box.currentIndexChanged.connect(self._on_source_changed)
        self.kind_box.currentIndexChanged.connect(lambda _i: self._changed())
        self.folder_edit.editingFinished.connect(self._changed)
        self.browse_button.clicked.connect(self.browse)
        self.shuffle_button.clicked.connect(self.shuffle)
        self._on_source_changed()

    # -- the spec ----------------------------------------------------------------------------

    def spec(self) -> str:
        """The `--data` value ("" while nothing is chosen)."""
        source = self.source_box.currentData()
        if source is None:
            return ""
        if source == "openmoji":
            return "openmoji"
        folder = self.folder_edit.text().strip()
        kind = self.kind_box.currentData()
        return folder if kind == "detect" else f"{kind}:{folder}"

    def set_folder(self, path: str, kind: str = "detect") -> None:
        self.folder_edit.setText(str(path))
        self.kind_box.setCurrentIndex(max(0, self.kind_box.findData(kind)))
        if self.source_box.currentData() != "folder":
            self.source_box.setCurrentIndex(self.source_box.findData("folder"))
        else:
            self._changed()

    def set_spec(self, spec: str) -> None:
        """Show a `--data` value (a run's): "openmoji", "KIND:PATH" or "PATH"."""
        if spec == "openmoji":
            self.source_box.setCurrentIndex(self.source_box.findData("openmoji"))
            return
        kind, sep, folder = spec.partition(":")
        if not sep or kind not in dict(KINDS) or len(kind) == 1:  # "C:/..." is a path
            kind, folder = "detect", spec
        self.set_folder(folder, kind)

    def set_resolution(self, resolution: int) -> None:
        if resolution != self.resolution:
            self.resolution = resolution
            self._changed()

    def ask_folder(self) -> str | None:
        """The folder dialog (tests replace this)."""
        path = QFileDialog.getExistingDirectory(self, "Folder of pictures", self.folder_edit.text())
        return path or None

    def browse(self) -> None:
        path = self.ask_folder()
        if path:
            self.set_folder(path, self.kind_box.currentData())

    def set_inputs_enabled(self, on: bool) -> None:
        """Lock the choice of data (while training) but keep the preview readable."""
        self._inputs_enabled = on
        self.source_box.setEnabled(on)
        self._enable_folder_inputs()

    def _enable_folder_inputs(self) -> None:
        on = self._inputs_enabled and self.source_box.currentData() == "folder"
        for widget in (self.folder_edit, self.browse_button, self.kind_box):
            widget.setEnabled(on)

    def _on_source_changed(self) -> None:
        folder = self.source_box.currentData() == "folder"
        self._enable_folder_inputs()
        if folder and not self.folder_edit.text().strip():
            self.browse()
        self._changed()

    def _changed(self) -> None:
        self.summary, self.error = None, None
        self.specChanged.emit(self.spec())
        self._debounce.start()

    # -- the preview -------------------------------------------------------------------------

    def shuffle(self) -> None:
        self._seed += 1
        self.refresh_preview()

    def refresh_preview(self) -> None:
        """Build the preview for the current spec now (only once the panel is visible: opening
        OpenMoji renders every drawing the first time)."""
        self._debounce.stop()
        if not self.isVisible():
            self._pending = True
            return
        self._pending = False
        self._token += 1
        spec = self.spec()
        if not spec:
            self._pool.clear()
            self._signals.wanted = None  # a render under way gives up
            self.info_label.setText(
                "Choose what to train on: the built-in OpenMoji drawings or a folder of your "
                "pictures."
            )
            self.preview.set_image(None)
            self.preview.set_placeholder("The preview of the chosen data appears here.")
            return
        if spec.endswith(":"):
            self._show_error("Choose a folder of pictures.")
            return
        self._pool.clear()  # queued, not started: stale already
        self._signals.wanted = (spec, self.resolution)
        self.info_label.setText("Reading the data…")
        self.preview.set_image(None)
        self.preview.set_placeholder("Reading the data…")
        self._pool.start(PreviewJob(self._token, spec, self.resolution, self._seed, self._signals))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._pending:
            self._debounce.start()

    def cancel(self) -> None:
        """Drop queued previews and make a running one give up (the app is closing)."""
        self._debounce.stop()
        self._pool.clear()
        self._signals.closed = True

    def wait_idle(self, msecs: int = 30_000) -> bool:
        return self._pool.waitForDone(msecs)

    def _on_ready(self, token: int, image: QImage, summary: DataSummary) -> None:
        if token != self._token:
            return
        self.summary, self.error = summary, None
        self.preview.set_image(image)
        self.info_label.setText(summary.text())
        self.info_label.setToolTip(summary.description)
        self.previewReady.emit(summary)

    def _on_failed(self, token: int, message: str) -> None:
        if token == self._token:
            self._show_error(message)

    def _show_error(self, message: str) -> None:
        self.summary, self.error = None, message
        self.info_label.setText(f"<span style='color:#c0392b'>⚠ {html.escape(message)}</span>")
        self.info_label.setToolTip(message)
        self.preview.set_image(None)
        self.preview.set_placeholder("No preview: see the message above.")
        self.previewFailed.emit(message)

    def _on_progress(self, token: int, done: int, total: int) -> None:
        if token == self._token:
            text = (
                f"Rendering the OpenMoji drawings at {self.resolution} px (first use only): "
                f"{done:,} / {total:,}"
            )
            self.info_label.setText(text)
            self.preview.set_placeholder(f"{text}\n{done * 100 // max(1, total)} %")
