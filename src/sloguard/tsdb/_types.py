"""The TSDB's public contract: appenders in, vectorised series batches out."""

from __future__ import annotations

import enum
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from sloguard.labels import Labels, Matcher

#: Prometheus' staleness marker: a NaN with this exact bit pattern.
STALE_NAN_BITS = 0x7FF0000000000002
STALE_NAN: float = struct.unpack("<d", struct.pack("<Q", STALE_NAN_BITS))[0]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


def is_stale_nan(v: float) -> bool:
    return struct.pack("<d", v) == struct.pack("<Q", STALE_NAN_BITS)


def stale_mask(values: F64) -> npt.NDArray[np.bool_]:
    """Vectorised: which values are staleness markers."""
    mask: npt.NDArray[np.bool_] = values.view(np.uint64) == np.uint64(STALE_NAN_BITS)
    return mask


class TSDBError(Exception):
    """Base error of the tsdb package."""


class RejectReason(enum.Enum):
    """Why a sample was not stored; the value is Prometheus' wording."""

    OUT_OF_ORDER = "out of order sample"
    DUPLICATE = "duplicate sample for timestamp"
    OUT_OF_BOUNDS = "out of bounds"
    INVALID_LABELS = "invalid labels"
    SERIES_LIMIT = "series limit exceeded"
    METRIC_SERIES_LIMIT = "per-metric series limit exceeded"


@dataclass(slots=True)
class AppendResult:
    """What a commit stored and what it refused.

    ``rejected`` counts samples per reason; ``errors`` keeps the first few messages
    (each names the series and the reason) for the caller to report.
    """

    appended: int = 0
    series_added: int = 0
    rejected: dict[RejectReason, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    MAX_ERRORS = 10

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def reject(self, reason: RejectReason, n: int, message: str) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + n
        if len(self.errors) < self.MAX_ERRORS:
            self.errors.append(message)

    def merge(self, other: AppendResult) -> None:
        self.appended += other.appended
        self.series_added += other.series_added
        for r, n in other.rejected.items():
            self.rejected[r] = self.rejected.get(r, 0) + n
        self.errors.extend(other.errors[: max(0, self.MAX_ERRORS - len(self.errors))])


@dataclass(frozen=True, slots=True)
class SeriesBatch:
    """Series selected for (matchers, mint, maxt), as flat arrays.

    Series ``i`` has labels ``labels[i]`` and samples
    ``timestamps[offsets[i]:offsets[i+1]]`` / ``values[offsets[i]:offsets[i+1]]``,
    timestamps in milliseconds, strictly increasing within a series. Staleness markers
    are kept as ``STALE_NAN`` values. Series are sorted by labels. ``len(offsets)`` is
    ``len(labels) + 1``.
    """

    labels: list[Labels]
    offsets: I64
    timestamps: I64
    values: F64

    @classmethod
    def empty(cls) -> SeriesBatch:
        return cls([], np.zeros(1, np.int64), np.empty(0, np.int64), np.empty(0, np.float64))

    def __len__(self) -> int:
        return len(self.labels)

    def series(self, i: int) -> tuple[Labels, I64, F64]:
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        return self.labels[i], self.timestamps[a:b], self.values[a:b]


class Appender(Protocol):
    """Collects samples, then stores them atomically on ``commit``.

    Nothing is visible to queriers, nor durable, before ``commit`` returns; when it
    returns, the accepted samples are in the WAL (fsynced per the configured policy).
    """

    def append(self, labels: Labels, t: int, v: float) -> None: ...

    def append_many(self, labels: Labels, ts: I64, vs: F64) -> None: ...

    def commit(self) -> AppendResult: ...

    def rollback(self) -> None: ...


class Querier(Protocol):
    """Reads series whose samples fall in ``[mint, maxt]`` (milliseconds, inclusive)."""

    def select(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> SeriesBatch: ...

    def series(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[Labels]: ...

    def label_names(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[str]: ...

    def label_values(
        self, name: str, matchers: Sequence[Matcher], mint: int, maxt: int
    ) -> list[str]: ...


class Storage(Protocol):
    """Anything that hands out appenders and queriers (the TSDB, a test fake, a remote).

    ``appender(durable=False)`` marks derived data (rule outputs) whose commit need not
    wait for an fsync of its own; stores without a WAL ignore it.
    """

    def appender(self, durable: bool = True) -> Appender: ...

    def querier(self) -> Querier: ...
