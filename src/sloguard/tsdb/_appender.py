"""The head appender: buffer samples, then validate and store them in one commit.

Validation is whole-array work: samples are grouped by series ref with a stable sort,
each compared with its predecessor (or the series' latest stored sample). Only series
that actually break the order rules go through a per-series (still vectorised) pass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from sloguard.labels import InvalidLabelError, Labels, check_labels, describe_labels
from sloguard.tsdb._types import F64, I64, AppendResult, RejectReason

if TYPE_CHECKING:
    from sloguard.tsdb._db import TSDB

OK, _OOO, _DUP, NOOP = 0, 1, 2, 3


class HeadAppender:
    """Implements ``Appender`` for the TSDB; one appender per batch, not thread-shared."""

    def __init__(self, db: TSDB, durable: bool = True) -> None:
        self._db = db
        self._durable = durable
        self.rollback()

    def append(self, labels: Labels, t: int, v: float) -> None:
        self._buf.extend((labels, t, v))  # flat triples: cheaper than a tuple per sample

    def append_many(self, labels: Labels, ts: I64, vs: F64) -> None:
        if len(ts) != len(vs):
            raise ValueError(f"append_many for series {describe_labels(labels)}: {len(ts)} timestamps but {len(vs)} values")
        self._chunks.append((len(self._buf) // 3, labels, np.asarray(ts, np.int64), np.asarray(vs, np.float64)))

    def rollback(self) -> None:
        self._buf: list[Labels | int | float] = []
        self._chunks: list[tuple[int, Labels, I64, F64]] = []

    def commit(self) -> AppendResult:
        groups, sizes, t, v = self._gather()
        self.rollback()
        if not groups:
            return AppendResult()
        return self._db._commit(groups, sizes, t, v, self._durable)

    def _gather(self) -> tuple[list[Labels], I64 | None, I64, F64]:
        """All buffered samples in call order: one label set per group of samples."""
        if not self._chunks:
            return self._singles(0, len(self._buf) // 3)
        groups: list[Labels] = []
        sizes: list[int] = []
        ts: list[I64] = []
        vs: list[F64] = []
        done = 0
        for pos, labels, ct, cv in [*self._chunks, (len(self._buf) // 3, None, None, None)]:
            if pos > done:
                g, _, t, v = self._singles(done, pos)
                groups += g
                sizes += [1] * len(g)
                ts.append(t)
                vs.append(v)
                done = pos
            if labels is not None and ct is not None and cv is not None:
                groups.append(labels)
                sizes.append(len(ct))
                ts.append(ct)
                vs.append(cv)
        return groups, np.asarray(sizes, np.int64), np.concatenate(ts), np.concatenate(vs)

    def _singles(self, a: int, b: int) -> tuple[list[Labels], None, I64, F64]:
        if a == b:
            return [], None, np.empty(0, np.int64), np.empty(0, np.float64)
        buf = self._buf
        labels: list[Labels] = buf[3 * a:3 * b:3]  # type: ignore[assignment]  # every third item
        return labels, None, np.array(buf[3 * a + 1:3 * b:3], np.int64), np.array(buf[3 * a + 2:3 * b:3], np.float64)


def check_new_series(
    labels: Labels, n_series: int, per_metric: Callable[[str], int], max_series: int, max_per_metric: int
) -> tuple[RejectReason, str] | None:
    """Why a new series may not be created, or None if it may."""
    try:
        check_labels(labels)
    except InvalidLabelError as e:
        return RejectReason.INVALID_LABELS, f"{e} (series {describe_labels(labels)})"
    if max_series and n_series >= max_series:
        return RejectReason.SERIES_LIMIT, (
            f"series limit of {max_series} exceeded: refusing new series {describe_labels(labels)}"
        )
    name = labels.metric_name
    if max_per_metric and per_metric(name) >= max_per_metric:
        return RejectReason.METRIC_SERIES_LIMIT, (
            f"per-metric series limit of {max_per_metric} exceeded for metric {name!r}: "
            f"refusing new series {describe_labels(labels)}"
        )
    return None


def order_check(
    r: I64, t: I64, bits: np.ndarray, last_t: I64, last_bits: np.ndarray
) -> np.ndarray:
    """Classify samples sorted by ref (time order kept within a ref): OK/OOO/DUP/NOOP.

    Follows sequential semantics: a sample is stored if it is newer than every earlier
    sample of its series (stored or not); at an equal timestamp, equal bits are a no-op.
    """
    n = len(r)
    first = np.ones(n, bool)
    first[1:] = r[1:] != r[:-1]
    prev_t = np.where(first, last_t, np.roll(t, 1))
    status = np.zeros(n, np.int8)
    if bool((t > prev_t).all()):
        return status
    starts = np.flatnonzero(first)
    ends = np.append(starts[1:], n)
    bad_groups = np.flatnonzero(np.add.reduceat(t <= prev_t, starts) > 0)
    for g in bad_groups.tolist():
        a, b = int(starts[g]), int(ends[g])
        _order_group(t[a:b], bits[a:b], int(last_t[a]), last_bits[a], status[a:b])
    return status


def _order_group(t: I64, bits: np.ndarray, last_t: int, last_bits: np.uint64, out: np.ndarray) -> None:
    run = np.maximum.accumulate(np.concatenate(([last_t], t)))
    prev_max = run[:-1]
    newer = t > prev_max
    # bits of the sample that set the running maximum (the stored one at that time)
    setter = np.maximum.accumulate(np.where(np.concatenate(([True], newer)), np.arange(len(t) + 1), 0))
    all_bits = np.concatenate(([last_bits], bits))
    ref_bits = all_bits[setter[:-1]]
    eq = t == prev_max
    out[:] = np.where(newer, OK, np.where(~eq, _OOO, np.where(bits == ref_bits, NOOP, _DUP)))


def record_rejections(
    res: AppendResult, status: np.ndarray, labels_of: Callable[[int], Labels], r: I64, t: I64
) -> None:
    """Count out-of-order and duplicate samples; keep the first messages."""
    for code, reason in ((_OOO, RejectReason.OUT_OF_ORDER), (_DUP, RejectReason.DUPLICATE)):
        idx = np.flatnonzero(status == code)
        for k, i in enumerate(idx[: res.MAX_ERRORS].tolist()):
            ls = describe_labels(labels_of(int(r[i])))
            msg = (
                f"out of order sample for series {ls}: timestamp {int(t[i])} is older than the latest sample"
                if code == _OOO
                else f"duplicate sample for timestamp {int(t[i])} with a different value for series {ls}"
            )
            res.reject(reason, len(idx) if k == 0 else 0, msg)
