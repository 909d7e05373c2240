"""A Prometheus classic histogram (cumulative ``le`` buckets) as a judge input, with
``histogram_quantile``'s estimate and an order-statistic interval for a quantile."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from sloguard.delivery.judges._errors import JudgeError
from sloguard.delivery.judges._inputs import FloatArray


@dataclass(frozen=True, slots=True)
class Histogram:
    """Upper bounds ``le`` (strictly increasing, the last ``+Inf``) and the cumulative
    count of observations at or below each. Counts that dip (float noise from ``rate()``)
    are raised to the running maximum, as Prometheus' ``histogram_quantile`` does."""

    bounds: tuple[float, ...]
    counts: tuple[float, ...]

    def __post_init__(self) -> None:
        b, c = self.bounds, self.counts
        if len(b) != len(c) or len(b) < 2:
            raise JudgeError(
                f"A histogram needs at least two buckets and one count per bucket, got "
                f"{len(b)} bounds and {len(c)} counts."
            )
        if not math.isinf(b[-1]) or b[-1] < 0:
            raise JudgeError(f"A histogram's last bucket must be le=\"+Inf\", got le={b[-1]!r}.")
        if any(not hi > lo for lo, hi in zip(b, b[1:], strict=False)):
            raise JudgeError(f"Histogram bounds must be strictly increasing, got {list(b)!r}.")
        if any(not math.isfinite(x) or x < 0 for x in c):
            raise JudgeError(f"Histogram counts must be finite and >= 0, got {list(c)!r}.")
        object.__setattr__(self, "counts", tuple(np.maximum.accumulate(np.asarray(c, float)).tolist()))

    @classmethod
    def from_buckets(cls, buckets: Mapping[str, float] | Mapping[float, float]) -> Histogram:
        """From ``{le: cumulative count}`` as a query returns them (``"0.25"``, ``"+Inf"``)."""
        pairs = sorted((_bound(k), float(v)) for k, v in buckets.items())
        return cls(tuple(p[0] for p in pairs), tuple(p[1] for p in pairs))

    @classmethod
    def from_samples(cls, samples: Sequence[float] | FloatArray, bounds: Sequence[float]) -> Histogram:
        """Bucket raw observations as a Prometheus client would (``+Inf`` is added)."""
        finite = [b for b in bounds if not math.isinf(b)]
        arr = np.sort(np.asarray(samples, dtype=np.float64))
        cum = np.searchsorted(arr, np.asarray(finite), side="right").astype(float)
        return cls((*finite, math.inf), (*cum.tolist(), float(arr.size)))

    @property
    def total(self) -> float:
        return self.counts[-1]

    def above(self, bound: float) -> float:
        """Observations above the bucket bound ``bound`` (which must be one of ``bounds``)."""
        return self.total - self.counts[self.bounds.index(bound)]

    def quantile(self, q: float) -> float:
        """``histogram_quantile(q, ...)``: linear interpolation inside the bucket holding
        rank ``q * total``; the last finite bound when the rank falls in ``+Inf``; NaN
        without observations."""
        return self.value_at_rank(q * self.total) if 0 <= q <= 1 else (math.inf if q > 1 else -math.inf)

    def value_at_rank(self, rank: float) -> float:
        if self.total == 0:
            return math.nan
        b = next(i for i, c in enumerate(self.counts) if c >= rank)
        if b == len(self.bounds) - 1:
            return self.bounds[-2]
        if b == 0 and self.bounds[0] <= 0:
            return self.bounds[0]
        start = self.bounds[b - 1] if b > 0 else 0.0
        prev = self.counts[b - 1] if b > 0 else 0.0
        if self.counts[b] == prev:
            return start  # rank 0 in an empty first bucket
        return start + (self.bounds[b] - start) * (rank - prev) / (self.counts[b] - prev)

    def quantile_interval(self, q: float, level: float) -> tuple[float, float]:
        """A two-sided ``level`` interval for the ``q`` quantile from binomial order
        statistics (ranks ``Binomial(n, q)`` quantiles), read through the buckets."""
        n, tail = self.total, (1 - level) / 2
        from scipy import special

        lo = float(special.bdtrik(tail, n, q)) if n > 0 else math.nan
        hi = float(special.bdtrik(1 - tail, n, q)) + 1 if n > 0 else math.nan
        return self.value_at_rank(max(lo, 0.0)), self.value_at_rank(min(hi, n))


def _bound(key: str | float) -> float:
    if isinstance(key, float | int):
        return float(key)
    text = key.strip()
    try:
        return float(text)  # Python's float accepts "+Inf", "inf", "1e-3"
    except ValueError:
        raise JudgeError(f"A histogram bucket bound le={key!r} is not a number.") from None
