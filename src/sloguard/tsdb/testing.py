"""An in-memory ``Storage`` for tests of packages above tsdb (like ``structlog.testing``).

It follows the same append rules as the real head (out of order, duplicates) but keeps
no WAL, blocks or index; selection scans every series.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

import numpy as np

from sloguard.labels import Labels, Matcher
from sloguard.tsdb._types import F64, I64, AppendResult, RejectReason, SeriesBatch


class MemoryStorage:
    def __init__(self) -> None:
        self._data: dict[Labels, tuple[list[int], list[float]]] = {}

    def appender(self, durable: bool = True) -> MemoryAppender:
        return MemoryAppender(self)

    def querier(self) -> MemoryQuerier:
        return MemoryQuerier(self)

    def clear(self) -> None:
        self._data.clear()

    def add(self, labels: Labels, ts: Sequence[int], vs: Sequence[float]) -> None:
        """Append directly (test helper); raises on rejection."""
        app = self.appender()
        app.append_many(labels, np.asarray(ts, np.int64), np.asarray(vs, np.float64))
        res = app.commit()
        if res.rejected_total:
            raise ValueError("; ".join(res.errors))


class MemoryAppender:
    def __init__(self, st: MemoryStorage) -> None:
        self._st = st
        self._pending: list[tuple[Labels, I64, F64]] = []

    def append(self, labels: Labels, t: int, v: float) -> None:
        self._pending.append((labels, np.array([t], np.int64), np.array([v], np.float64)))

    def append_many(self, labels: Labels, ts: I64, vs: F64) -> None:
        self._pending.append((labels, ts, vs))

    def rollback(self) -> None:
        self._pending.clear()

    def commit(self) -> AppendResult:
        res = AppendResult()
        for labels, ts, vs in self._pending:
            if labels not in self._st._data:
                self._st._data[labels] = ([], [])
                res.series_added += 1
            tl, vl = self._st._data[labels]
            for t, v in zip(ts.tolist(), vs.tolist(), strict=True):
                if tl and t < tl[-1]:
                    res.reject(RejectReason.OUT_OF_ORDER, 1, f"out of order sample for series {labels}")
                elif tl and t == tl[-1]:
                    same = vl[-1] == v or (math.isnan(vl[-1]) and math.isnan(v))
                    if not same:
                        res.reject(RejectReason.DUPLICATE, 1, f"duplicate sample for timestamp for series {labels}")
                else:
                    tl.append(t)
                    vl.append(v)
                    res.appended += 1
        self._pending.clear()
        return res


class MemoryQuerier:
    def __init__(self, st: MemoryStorage) -> None:
        self._st = st

    def _matching(self, matchers: Sequence[Matcher]) -> list[Labels]:
        return sorted(
            ls for ls in self._st._data if all(m.matches(ls.get(m.name)) for m in matchers)
        )

    def select(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> SeriesBatch:
        labels: list[Labels] = []
        offs = [0]
        tparts: list[I64] = []
        vparts: list[F64] = []
        for ls in self._matching(matchers):
            t = np.asarray(self._st._data[ls][0], np.int64)
            v = np.asarray(self._st._data[ls][1], np.float64)
            m = (t >= mint) & (t <= maxt)
            if not m.any():
                continue
            labels.append(ls)
            tparts.append(t[m])
            vparts.append(v[m])
            offs.append(offs[-1] + int(m.sum()))
        if not labels:
            return SeriesBatch.empty()
        return SeriesBatch(labels, np.asarray(offs, np.int64), np.concatenate(tparts), np.concatenate(vparts))

    def estimate_series(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> int:
        """Exactly the series ``select`` would return, without copying their samples."""
        return sum(1 for ls in self._matching(matchers) if self._count(ls, mint, maxt))

    def estimate_samples(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> int:
        """Exactly the samples ``select`` would return (each series' times are sorted)."""
        return sum(self._count(ls, mint, maxt) for ls in self._matching(matchers))

    def _count(self, ls: Labels, mint: int, maxt: int) -> int:
        ts = self._st._data[ls][0]
        return bisect.bisect_right(ts, maxt) - bisect.bisect_left(ts, mint)

    def series(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[Labels]:
        return self.select(matchers, mint, maxt).labels

    def label_names(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[str]:
        return sorted({n for ls in self.series(matchers, mint, maxt) for n, _ in ls})

    def label_values(self, name: str, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[str]:
        return sorted({ls.get(name) for ls in self.series(matchers, mint, maxt)} - {""})
