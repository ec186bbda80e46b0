"""Time left, from a smoothed rate: an exponential moving average of bytes per second.

The plain "rate so far" ETA is dragged for minutes by what happened early (a slow first
table, a lock wait) and jumps when a table starts; the moving average follows the recent
rate. Its weight is by time (a time constant of TAU seconds), not by update, so a pane
redrawn twice as often does not forget twice as fast.
"""

from __future__ import annotations

import math

TAU = 10.0  # seconds: the rate of the last ~10 s counts about 63%


class SmoothedEta:
    """Feed `update(done, total, seconds)` as progress arrives; it returns seconds left."""

    def __init__(self, tau: float = TAU) -> None:
        self.tau = tau
        self.rate: float | None = None  # smoothed units per second
        self._last: tuple[float, int] | None = None  # (seconds, done) of the previous update

    def update(self, done: int, total: int, seconds: float) -> float | None:
        """Seconds left at the smoothed rate; None until there is a rate, or when done."""
        if seconds <= 0 or done <= 0:
            return None
        last = self._last
        if last is None or self.rate is None or seconds < last[0] or done < last[1]:
            self.rate = done / seconds  # first sight (or a new run): the rate so far
        elif seconds > last[0]:
            instant = (done - last[1]) / (seconds - last[0])
            weight = 1 - math.exp(-(seconds - last[0]) / self.tau)
            self.rate += weight * (instant - self.rate)
        self._last = (seconds, done)
        if total <= done or self.rate <= 0:
            return None
        return (total - done) / self.rate
