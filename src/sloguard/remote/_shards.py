"""How many shards a queue needs: Prometheus' desired-shards calculation.

Every ``SHARD_UPDATE_S`` seconds the queue folds its counters into exponentially
weighted rates (samples read from the WAL, sent, dropped, and seconds spent sending)
and asks how many concurrent senders would keep up with the input plus 5% of the
backlog per second. A change smaller than 30% of the current count is ignored, the
count never drops while the queue is more than 10 s behind, and it stays within
``min_shards..max_shards``. While sends fail, the count is not changed at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SHARD_UPDATE_S = 10.0
_EWMA_WEIGHT = 0.2
_TOLERANCE = 0.3
_CATCHUP = 0.05


@dataclass(slots=True)
class EWMARate:
    """A per-second rate of events counted with ``add``, updated by ``tick``."""

    interval_s: float = SHARD_UPDATE_S
    rate: float = 0.0
    _new: float = 0.0
    _init: bool = False

    def add(self, n: float) -> None:
        self._new += n

    def tick(self) -> None:
        instant = self._new / self.interval_s
        self._new = 0.0
        if self._init:
            self.rate += _EWMA_WEIGHT * (instant - self.rate)
        else:
            self.rate, self._init = instant, True


@dataclass(frozen=True, slots=True)
class ShardInputs:
    """The rates and timestamps the calculation reads (rates per second)."""

    samples_in: float
    samples_out: float
    samples_dropped: float
    send_seconds: float  # seconds spent in sends per second
    highest_in_s: float  # newest sample timestamp read from the WAL
    highest_sent_s: float  # newest sample timestamp acknowledged
    shards: int
    min_shards: int
    max_shards: int


def desired_shards(i: ShardInputs) -> int:
    """The shard count to run next (``i.shards`` when no change is called for)."""
    if i.samples_out <= 0:
        return i.shards
    kept = i.samples_out / (i.samples_dropped + i.samples_out)
    delay = max(i.highest_in_s - i.highest_sent_s, 0.0)
    pending = delay * i.samples_in * kept
    time_per_sample = i.send_seconds / i.samples_out
    want = math.ceil(time_per_sample * (i.samples_in * kept + _CATCHUP * pending))
    if i.shards * (1 - _TOLERANCE) <= want <= i.shards * (1 + _TOLERANCE):
        return i.shards
    if want < i.shards and delay > 10.0:
        return i.shards
    return max(i.min_shards, min(i.max_shards, want))
