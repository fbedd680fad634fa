"""The canvas sketch a sample grid shows with the model being trained: a PNG in the run folder
(`CANVAS_SKETCH_NAME`) that the Train tab writes (atomically) while the user draws, and anyone
may drop there when training headless. The trainer reads it at each sample, when it is there;
it never waits for it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import torch

from sketchpad.data.augment import augment_pair, pair_generator
from sketchpad.errors import SketchpadError
from sketchpad.sketch import load_image, sketch_to_tensor
from sketchpad.train.config import TrainConfig


class CanvasSketch:
    """The run folder's canvas sketch as a sample item ({"sketch", "image"}), read again only
    when the file changed. Its target is blank paper: there is no right answer to a drawing."""

    def __init__(self, path: Path, config: TrainConfig) -> None:
        self.path = path
        self.resolution = config.resolution
        # The same encoding as the training sketches, without the random changes.
        self.encoding = replace(
            config.augment, flip=False, affine=False, thickness=False, dropout=False
        )
        self._seen: tuple[float, int] | None = None
        self._item: dict[str, torch.Tensor] | None = None

    def read(self, log: Callable[[str, str], None]) -> dict[str, torch.Tensor] | None:
        """The item, or None when there is no canvas sketch (or it cannot be read: logged once
        per version of the file)."""
        try:
            stat = self.path.stat()
        except OSError:
            self._seen, self._item = None, None
            return None
        seen = (stat.st_mtime, stat.st_size)
        if seen == self._seen:
            return self._item
        self._seen, self._item = seen, None
        try:
            ink = sketch_to_tensor(load_image(self.path), self.resolution)  # (1, R, R)
        except SketchpadError as exc:
            log("warning", f"the canvas sketch was not shown in the samples: {exc}")
            return None
        paper = torch.ones(3, self.resolution, self.resolution)  # white, in [-1, 1]
        sketch, image = augment_pair(ink, paper, self.encoding, pair_generator(0, 0, 0))
        self._item = {"sketch": sketch, "image": image}
        return self._item
