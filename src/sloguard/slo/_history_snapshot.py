"""One read of the raw series for all the range queries of one SLO history.

A history runs about a dozen range queries (period counts on the 5m grid, the slot in
progress, every alert window's error ratio, coverage) over the same two or three
selectors; each used to read its window from the TSDB again, and on a store of many
blocks that reading was most of the time (a 30-day page: 4 of its 5 seconds in the
querier). :class:`SnapshotQuerier` reads each selector once over the widest window the
history needs and answers every select with that batch cut to the asked window exactly
(``mint <= t <= maxt``), so each query sees the samples a fresh read would give it, from
one snapshot of the store. A select outside the window goes to the store.

:func:`snapshot_engine` gives an engine of the same kind and options over such a querier,
or the engine itself when it does not read a local store (a remote backend).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from sloguard.labels import Labels, Matcher
from sloguard.promql import Engine
from sloguard.tsdb import Querier, SeriesBatch

#: Read before the first period start and the longest window: the 5m slots, timeslices and
#: the lookback (selects outside the snapshot still go to the store, just slower).
SNAPSHOT_MARGIN_MS = 3_600_000


def trim(batch: SeriesBatch, mint: int, maxt: int) -> SeriesBatch:
    """The samples of ``batch`` with ``mint <= t <= maxt``; series left without one go."""
    labels: list[Labels] = []
    parts: list[tuple[int, int]] = []
    for i, ls in enumerate(batch.labels):
        a, b = int(batch.offsets[i]), int(batch.offsets[i + 1])
        ts = batch.timestamps[a:b]
        lo = a + int(np.searchsorted(ts, mint, side="left"))
        hi = a + int(np.searchsorted(ts, maxt, side="right"))
        if hi > lo:
            labels.append(ls)
            parts.append((lo, hi))
    if not parts:
        return SeriesBatch.empty()
    index = np.concatenate([np.arange(lo, hi) for lo, hi in parts])
    offsets = np.concatenate([[0], np.cumsum([hi - lo for lo, hi in parts])]).astype(np.int64)
    return SeriesBatch(labels, offsets, batch.timestamps[index], batch.values[index])


class SnapshotQuerier:
    """Answers selects inside ``[mint, maxt]`` from one read per selector (see the module)."""

    def __init__(self, inner: Querier, mint: int, maxt: int) -> None:
        self._inner = inner
        self.mint, self.maxt = mint, maxt
        self._batches: dict[tuple[Matcher, ...], SeriesBatch] = {}
        self.reads = 0

    def select(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> SeriesBatch:
        if not self._inside(mint, maxt):
            return self._inner.select(matchers, mint, maxt)
        return trim(self._wide(matchers), mint, maxt)

    def _inside(self, mint: int, maxt: int) -> bool:
        return self.mint <= mint and maxt <= self.maxt

    def _wide(self, matchers: Sequence[Matcher]) -> SeriesBatch:
        key = tuple(matchers)
        wide = self._batches.get(key)
        if wide is None:
            wide = self._batches[key] = self._inner.select(matchers, self.mint, self.maxt)
            self.reads += 1
        return wide

    def series(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[Labels]:
        return self._inner.series(matchers, mint, maxt)

    def label_names(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[str]:
        return self._inner.label_names(matchers, mint, maxt)

    def label_values(self, name: str, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[str]:
        return self._inner.label_values(name, matchers, mint, maxt)

    def estimate_series(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> int:
        """The series of the snapshot's read (at least those in the window; the engine
        sizes its work by it), else the store's estimate."""
        if self._inside(mint, maxt):
            return len(self._wide(matchers))
        estimate = getattr(self._inner, "estimate_series", None)
        return len(self.series(matchers, mint, maxt)) if estimate is None else int(estimate(matchers, mint, maxt))

    def estimate_samples(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> int:
        """The store's estimate of the samples in the window (-1: it cannot tell)."""
        estimate = getattr(self._inner, "estimate_samples", None)
        return -1 if estimate is None else int(estimate(matchers, mint, maxt))

    def samples_bound(self, mint: int, maxt: int) -> int:
        """The store's bound over the window (-1: it has none)."""
        bound = getattr(self._inner, "samples_bound", None)
        return -1 if bound is None else int(bound(mint, maxt))


class _Storage:
    """A storage whose only querier is one snapshot querier (read-only)."""

    def __init__(self, querier: SnapshotQuerier) -> None:
        self._querier = querier

    def querier(self) -> SnapshotQuerier:
        return self._querier

    def appender(self, durable: bool = True) -> Any:
        raise TypeError("An SLO history's snapshot of the store is read-only.")


def snapshot_engine(engine: Engine, mint: int, maxt: int) -> Engine:
    """An engine answering the history's selects in ``[mint, maxt]`` from one read each;
    ``engine`` itself when it reads no local store (it has no ``storage`` and ``options``)."""
    storage, options = getattr(engine, "storage", None), getattr(engine, "options", None)
    if storage is None or options is None or not hasattr(storage, "querier"):
        return engine
    snap: Engine = type(engine)(_Storage(SnapshotQuerier(storage.querier(), mint, maxt)), options)  # type: ignore[call-arg]
    return snap
