"""Time left in a run, from the steps trained so far: the first step (which warms up caches,
allocators and the data loader) is left out once there are others to go by."""

from __future__ import annotations

import time
from collections.abc import Callable


class StepTiming:
    def __init__(
        self, start_step: int, total_steps: int, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self.start_step = start_step
        self.total_steps = total_steps
        self._clock = clock
        self._began = clock()
        self._after_first: float | None = None

    def stepped(self, step: int) -> None:
        """Call after each step (`step`: the steps done so far)."""
        if step == self.start_step + 1:
            self._after_first = self._clock()

    def seconds_left(self, step: int) -> float:
        """An estimate, refined as steps go by: the mean time of the steps after the first
        (the first one alone until there is a second)."""
        now = self._clock()
        done = step - self.start_step
        if done <= 0:
            return 0.0
        if done == 1 or self._after_first is None:
            per_step = now - self._began
        else:
            per_step = (now - self._after_first) / (done - 1)
        return max(0, self.total_steps - step) * per_step
