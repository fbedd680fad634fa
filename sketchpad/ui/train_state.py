"""Where the Train tab is in a run's life: idle → starting → running (→ stopping) → idle."""

from __future__ import annotations

import enum


class TrainState(enum.Enum):
    IDLE = "idle"  # no trainer: the settings can be changed, a run started or resumed
    STARTING = "starting"  # the trainer prepares the data and the networks (no `start` yet)
    RUNNING = "running"  # the trainer is training (its `start` event came)
    STOPPING = "stopping"  # asked to stop, it finishes its step and saves; asked again, killed

    @property
    def is_running(self) -> bool:
        """A trainer is there: the settings are locked and Stop works."""
        return self is not TrainState.IDLE
