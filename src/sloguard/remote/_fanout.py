"""One store seen through two: the server's own (recorded series, local data) and a named
query backend (an SLO's SLI series), as Prometheus merges its TSDB with ``remote_read``.

An SLO that names a backend in ``query_backends`` is evaluated by the server's PromQL
engine over a :class:`FanoutStorage`: every selector reads both stores and the two
answers are merged series by series (a series in both gets the union of its samples; at
one timestamp the primary store's sample wins). So its rules read the raw SLI from the
backend and their own recorded outputs from where they were written, in one expression
(an alert that compares a recorded ratio with a raw event count), and its budget and
history read the backend the same way. Appends go to the primary store only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from sloguard.labels import Labels, Matcher
from sloguard.tsdb import Appender, SeriesBatch, Storage

__all__ = ["FanoutStorage", "merge_batches"]


class _Querier:
    def __init__(self, primary: Any, secondary: Any) -> None:
        self.primary, self.secondary = primary, secondary

    def select(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> SeriesBatch:
        return merge_batches(self.primary.select(matchers, mint, maxt), self.secondary.select(matchers, mint, maxt))

    def series(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[Labels]:
        return sorted(set(self.primary.series(matchers, mint, maxt)) | set(self.secondary.series(matchers, mint, maxt)))

    def label_names(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[str]:
        return sorted(set(self.primary.label_names(matchers, mint, maxt))
                      | set(self.secondary.label_names(matchers, mint, maxt)))

    def label_values(self, name: str, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[str]:
        return sorted(set(self.primary.label_values(name, matchers, mint, maxt))
                      | set(self.secondary.label_values(name, matchers, mint, maxt)))

    def close(self) -> None:
        for q in (self.primary, self.secondary):
            close = getattr(q, "close", None)
            if close is not None:
                close()


class FanoutStorage:
    """Reads ``primary`` and ``secondary`` (any object with ``querier()``) merged; appends
    and everything else go to ``primary``."""

    def __init__(self, primary: Storage, secondary: Any) -> None:
        self.primary, self.secondary = primary, secondary

    def __getattr__(self, name: str) -> Any:
        return getattr(self.primary, name)

    def appender(self, durable: bool = True) -> Appender:
        return self.primary.appender(durable=durable)

    def querier(self) -> _Querier:
        return _Querier(self.primary.querier(), self.secondary.querier())


def merge_batches(a: SeriesBatch, b: SeriesBatch) -> SeriesBatch:
    """``a`` and ``b`` as one batch sorted by labels; a series in both has the union of its
    samples by timestamp, ``a``'s value where both have one."""
    if not len(b):
        return a
    if not len(a):
        return b
    parts: dict[Labels, list[tuple[Any, Any]]] = {}
    for batch in (a, b):
        for i in range(len(batch)):
            ls, ts, vs = batch.series(i)
            parts.setdefault(ls, []).append((ts, vs))
    labels = sorted(parts)
    ts_out, vs_out, counts = [], [], []
    for ls in labels:
        got = parts[ls]
        if len(got) == 1:
            ts, vs = got[0]
        else:
            ts_all = np.concatenate([t for t, _ in got])
            vs_all = np.concatenate([v for _, v in got])
            order = np.argsort(ts_all, kind="stable")  # a's samples first among equal timestamps
            ts_all, vs_all = ts_all[order], vs_all[order]
            keep = np.ones(len(ts_all), bool)
            keep[1:] = ts_all[1:] != ts_all[:-1]
            ts, vs = ts_all[keep], vs_all[keep]
        ts_out.append(ts)
        vs_out.append(vs)
        counts.append(len(ts))
    return SeriesBatch(labels=labels, offsets=np.concatenate(([0], np.cumsum(counts))).astype(np.int64),
                       timestamps=np.concatenate(ts_out).astype(np.int64),
                       values=np.concatenate(vs_out).astype(np.float64))
