"""Variations: four thumbnails under the result, each the current sketch (with its hints) at
another seed. A click keeps that seed (the main picture and the live loop use it, so the
picture does not flicker while you draw); the dice (Ctrl+R) rolls again: the first thumbnail
is the seed in use (framed, the way back), the other three are new seeds.

The strip is refreshed when the pen rests: once the picture of the newest sketch has arrived
and the sketch has not changed for a moment, one thumbnail job per seed goes to the worker's
lower lane (`InferenceService.submit_variations`), which yields to every picture of the
sketch. A thumbnail already shown stays, dimmed, until its new picture replaces it.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from PySide6.QtCore import QObject, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QIcon, QImage, QPainter, QPaintEvent, QPen, QPixmap
from PySide6.QtWidgets import QAbstractButton, QHBoxLayout, QLabel, QToolButton, QWidget

from sketchpad.ui.jobs import Frame
from sketchpad.ui.worker import InferenceService

COUNT = 4
THUMB_SIDE = 64
REST_MS = 300
"""How long the sketch stays unchanged after its picture arrived before the strip refreshes."""


def new_seeds(rng: random.Random, count: int = COUNT, keep: int | None = None) -> list[int]:
    """`count` different seeds; with `keep`, it comes first and the others differ from it."""
    seeds = [] if keep is None else [keep]
    while len(seeds) < count:
        seed = rng.randrange(2**31)
        if seed not in seeds:
            seeds.append(seed)
    return seeds


def dice_icon(side: int = 22) -> QIcon:
    """A die showing five, drawn (no font or emoji needed)."""
    pixmap = QPixmap(side, side)
    pixmap.fill(Qt.GlobalColor.transparent)
    p = QPainter(pixmap)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(QPen(QColor(60, 60, 60), 1.4))
    p.setBrush(QColor(250, 250, 250))
    p.drawRoundedRect(QRectF(1.5, 1.5, side - 3, side - 3), 4, 4)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(40, 40, 40))
    r, a, b = side * 0.09, side * 0.3, side * 0.7
    for x, y in ((a, a), (b, a), (side / 2, side / 2), (a, b), (b, b)):
        p.drawEllipse(QRectF(x - r, y - r, 2 * r, 2 * r))
    p.end()
    return QIcon(pixmap)


class Thumbnail(QAbstractButton):
    """One variation: its picture (dimmed while a newer one is coming), framed when it is
    the seed in use."""

    def __init__(self, index: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.index = index
        self.seed: int | None = None
        self.image: QImage | None = None
        self.stale = False
        self.chosen = False
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setFixedSize(THUMB_SIDE + 6, THUMB_SIDE + 6)

    def sizeHint(self) -> QSize:
        return QSize(THUMB_SIDE + 6, THUMB_SIDE + 6)

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        box = QRectF(3, 3, THUMB_SIDE, THUMB_SIDE)
        if self.image is not None:
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            p.setOpacity(0.45 if self.stale else 1.0)
            p.drawImage(box, self.image)
            p.setOpacity(1.0)
        else:
            p.fillRect(box, self.palette().base())
            p.setPen(self.palette().placeholderText().color())
            p.drawText(box, int(Qt.AlignmentFlag.AlignCenter), "…")
        if self.chosen:
            p.setPen(QPen(self.palette().highlight().color(), 3))
            p.drawRect(QRectF(1.5, 1.5, THUMB_SIDE + 3, THUMB_SIDE + 3))
        elif self.underMouse():
            p.setPen(QPen(self.palette().mid().color(), 1))
            p.drawRect(QRectF(1.5, 1.5, THUMB_SIDE + 3, THUMB_SIDE + 3))
        p.end()

    def enterEvent(self, event) -> None:
        self.update()
        super().enterEvent(event)

    def leaveEvent(self, event) -> None:
        self.update()
        super().leaveEvent(event)


class VariationStrip(QWidget):
    """The four thumbnails and the dice; `chosen(seed)` when one is clicked."""

    chosen = Signal(int)

    def __init__(self, reroll: QAction, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumbnails = [Thumbnail(i) for i in range(COUNT)]
        self.dice = QToolButton()
        self.dice.setDefaultAction(reroll)
        self.dice.setIconSize(QSize(22, 22))
        self.dice.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.caption = QLabel("Variations:\nclick one to keep it")
        self.caption.setEnabled(False)  # quiet, in the disabled text colour
        layout = QHBoxLayout(self)
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(4)
        layout.addWidget(self.caption)
        for thumb in self.thumbnails:
            thumb.clicked.connect(lambda _=False, t=thumb: self._click(t))
            layout.addWidget(thumb)
        layout.addWidget(self.dice)
        layout.addStretch(1)

    def set_available(self, on: bool) -> None:
        """The model takes noise: the thumbnails; else a line saying why there are none."""
        for widget in (*self.thumbnails, self.dice):
            widget.setVisible(on)
        self.caption.setText(
            "Variations:\nclick one to keep it"
            if on
            else "This model takes no noise: one picture per sketch, no variations"
        )

    def seeds(self) -> list[int | None]:
        return [t.seed for t in self.thumbnails]

    def set_seeds(self, seeds: list[int]) -> None:
        """New seeds: their pictures are to come (the old ones stay, dimmed, until then)."""
        for thumb, seed in zip(self.thumbnails, seeds, strict=True):
            thumb.seed, thumb.stale = seed, True
            thumb.setToolTip(f"Seed {seed}: click to keep this variation")
            thumb.update()

    def mark_stale(self) -> None:
        for thumb in self.thumbnails:
            thumb.stale = True
            thumb.update()

    def set_picture(self, index: int, seed: int, image: QImage) -> None:
        thumb = self.thumbnails[index]
        if thumb.seed == seed:
            thumb.image, thumb.stale = image, False
            thumb.update()

    def set_chosen(self, seed: int | None) -> None:
        for thumb in self.thumbnails:
            thumb.chosen = seed is not None and thumb.seed == seed
            thumb.update()

    def _click(self, thumb: Thumbnail) -> None:
        if thumb.seed is not None:
            self.chosen.emit(thumb.seed)


class Variations(QObject):
    """Keeps the strip in step with the sketch: asks for its thumbnails when the pen rests,
    drops them when the sketch changes, rerolls, and says which seed was chosen."""

    seedChosen = Signal(int)

    def __init__(
        self,
        strip: VariationStrip,
        service: InferenceService,
        is_drawing: Callable[[], bool],
        parent: QObject | None = None,
        rng: random.Random | None = None,
        seed: int | None = None,
    ) -> None:
        """`seed`: the one the picture uses now (the first thumbnail)."""
        super().__init__(parent)
        self.strip, self.service, self._is_drawing = strip, service, is_drawing
        self._rng = rng or random.Random()
        self.enabled = False
        self._latest: Frame | None = None
        """The newest picture of the sketch: the strip shows its snapshot."""
        self._shown: tuple[QImage, QImage | None, tuple] | None = None
        """(sketch, hints, seeds) the strip's thumbnails were last asked for (None: the
        sketch changed since)."""
        self._asked: set[int] = set()
        """The ids of those thumbnail jobs: a late one of an older sketch is not shown."""
        self._timer = QTimer(self, singleShot=True, interval=REST_MS)
        self._timer.timeout.connect(self.refresh)
        strip.set_seeds(new_seeds(self._rng, keep=seed))
        strip.set_chosen(seed)
        strip.chosen.connect(self._choose)
        service.variationReady.connect(self._on_variation)

    def set_enabled(self, on: bool) -> None:
        """The model takes noise (else there is nothing to vary: the strip rests)."""
        self.enabled = on
        self._shown = None
        if not on:
            self._timer.stop()
            self.service.cancel_variations()

    def reroll(self, keep: int | None = None) -> None:
        """New seeds: `keep` (the seed in use, framed) first, then new ones; the thumbnails
        are asked for now if the sketch rests. The kept one shows the main picture at once
        when that is of the sketch as it is."""
        self.strip.set_seeds(new_seeds(self._rng, keep=keep))
        self.strip.set_chosen(keep)
        frame = self._latest
        if (
            keep is not None
            and frame is not None
            and frame.job.seed == keep
            and frame.job.job_id == self.service.last_job_id
        ):
            self.strip.set_picture(0, keep, frame.image)
        self.refresh()

    def sketch_changed(self) -> None:
        self._timer.stop()
        self.service.cancel_variations()
        self._shown, self._asked = None, set()
        self.strip.mark_stale()

    def picture_shown(self, frame: Frame) -> None:
        """A picture of the sketch arrived: the strip follows once the pen rests."""
        self._latest = frame
        self.strip.set_chosen(frame.job.seed)
        if self.enabled:
            self._timer.start()

    def refresh(self) -> None:
        """Ask for the thumbnails of the newest picture's sketch, unless the sketch moved on
        since, the pen is down, or the strip already shows them."""
        frame = self._latest
        if not self.enabled or frame is None or self._is_drawing():
            return
        if frame.job.job_id != self.service.last_job_id:
            return  # a newer sketch is on its way; its picture restarts the wait
        seeds = tuple(self.strip.seeds())
        job = frame.job
        if self._shown is not None:
            sketch, hints, shown_seeds = self._shown
            if shown_seeds == seeds and sketch == job.sketch and _same(hints, job.hints):
                self.strip.set_chosen(job.seed)
                return
        self._shown = (job.sketch, job.hints, seeds)
        jobs = self.service.submit_variations(
            job.sketch, job.hints, [s for s in seeds if s is not None]
        )
        self._asked = {j.job_id for j in jobs}

    def _on_variation(self, frame: Frame) -> None:
        job = frame.job
        if job.job_id in self._asked and job.variation is not None and job.seed is not None:
            self.strip.set_picture(job.variation, job.seed, frame.image)

    def _choose(self, seed: int) -> None:
        self.strip.set_chosen(seed)
        self.seedChosen.emit(seed)


def _same(a: QImage | None, b: QImage | None) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and a == b)
