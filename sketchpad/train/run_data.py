"""A run's data: its training and validation pairs, and its data order: which items each
process trains on at each step, a function of (seed, step) alone, so that a resumed run sees
the same data in the same order."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import replace

import torch

from sketchpad.data import DataWarning, PairDataset, open_source
from sketchpad.errors import ConfigError
from sketchpad.train import distributed
from sketchpad.train.config import TrainConfig


class RunData:
    def __init__(
        self,
        config: TrainConfig,
        dist: distributed.DistInfo,
        log: Callable[[str, str], None],  # (level, message) for the data's warnings
    ) -> None:
        self.config = config
        self.dist = dist
        c = config
        # validation pairs as drawn, in the data's encoding, without hints
        moving = [name for name in c.augment.SWITCHES if name != "distance_field"]
        still = replace(c.augment, **dict.fromkeys(moving, False))
        self.hinted = c.generator.hint_channels > 0
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", DataWarning)
            train_set = open_source(
                c.data,
                resolution=c.resolution,
                split="train",
                direction=c.direction,
                augment=c.augment,
                seed=c.seed,
                hints=c.augment.hint_config() if self.hinted else None,
            )
            val_set = train_set.with_split("val", augment=still)  # no second scan or warning
        for w in caught:
            log("warning", str(w.message))
        if len(train_set) < 1:
            raise ConfigError("the training split is empty")
        self.train_set: PairDataset = train_set
        self.val_set: PairDataset = val_set

    def batches_per_epoch(self) -> int:
        per_step = self.config.batch * self.dist.world_size
        return max(1, len(self.train_set) // per_step)

    def epoch_of(self, step: int) -> int:
        return step // self.batches_per_epoch()

    def indices(self, step: int) -> list[int]:
        """This rank's items for a step: a function of (seed, step) alone, so a resumed run
        sees the same data in the same order."""
        n, b, w = len(self.train_set), self.config.batch, self.dist.world_size
        epoch, k = divmod(step, self.batches_per_epoch())
        g = torch.Generator().manual_seed(self.config.seed * 1_000_003 + epoch)
        order = torch.randperm(n, generator=g)
        while order.numel() < b * w:  # fewer items than one global batch
            order = torch.cat([order, torch.randperm(n, generator=g)])
        start = (k * w + self.dist.rank) * b
        return order[start : start + b].tolist()

    def load_batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(sketches, targets, hints or None) of this rank's items at `step`."""
        self.train_set.set_epoch(self.epoch_of(step))
        items = [self.train_set[i] for i in self.indices(step)]
        sketch = torch.stack([it["sketch"] for it in items])
        image = torch.stack([it["image"] for it in items])
        hints = torch.stack([it["hints"] for it in items]) if self.hinted else None
        return sketch, image, hints
