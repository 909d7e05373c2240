"""Simulated canary traffic for the judges' tests and benchmarks (seeded, vectorised).

``Traffic`` describes the load: total requests per second, the canary's and the fresh
baseline's shares, the look interval and the stable version's error rate. Helpers draw
per-look error counts and latency histograms for many simulated rollouts at once, and
run a judge over the looks of each rollout to find the look of its first FAIL.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from scipy import stats

from sloguard.delivery.judges._histogram import Histogram
from sloguard.delivery.judges._inputs import Counts
from sloguard.delivery.judges._verdict import Verdict
from sloguard.delivery.judges.sequential import SequentialSettings, SequentialState, sequential
from sloguard.delivery.judges.spending import SpendingSettings, SpendingState, spending_look
from sloguard.delivery.judges.tail import TailSettings, tail_histogram

S = TypeVar("S")

PROM_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True, slots=True)
class Traffic:
    """``rps`` requests/s in total, ``canary_share`` of them to the canary and
    ``baseline_share`` (None: as much, a fresh baseline; 0.9: the stable pool itself) to
    the baseline, looked at every ``interval_s`` seconds, ``looks`` times."""

    rps: float = 1000.0
    canary_share: float = 0.05
    interval_s: float = 60.0
    looks: int = 20
    error_rate: float = 0.01
    baseline_share: float | None = None

    @property
    def per_look(self) -> int:
        """Requests the canary receives between two looks."""
        return round(self.rps * self.canary_share * self.interval_s)

    @property
    def baseline_per_look(self) -> int:
        """Requests the baseline receives between two looks."""
        share = self.canary_share if self.baseline_share is None else self.baseline_share
        return round(self.rps * share * self.interval_s)


def error_counts(
    rng: np.random.Generator, traffic: Traffic, runs: int, ratio: float,
    run_sigma: float = 0.0, look_sigma: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative errors ``(baseline, canary)``, each ``(runs, looks)``. The stable error
    rate may vary between runs (lognormal, ``run_sigma``) and between looks
    (``look_sigma``), the same for both arms (they see the same traffic mix); the
    canary's rate is ``ratio`` times it."""
    shape = (runs, traffic.looks)
    rate = traffic.error_rate * rng.lognormal(0.0, run_sigma, (runs, 1)) * rng.lognormal(0.0, look_sigma, shape)
    rate = np.clip(np.broadcast_to(rate, shape), 0.0, 1.0)
    nb, n = traffic.baseline_per_look, traffic.per_look
    return rng.binomial(nb, rate).cumsum(axis=1), rng.binomial(n, np.clip(rate * ratio, 0.0, 1.0)).cumsum(axis=1)  # fmt: skip


def lognormal_sigma_for_p99(sigma: float, p99_factor: float, q: float = 0.99) -> float:
    """The lognormal shape with the same median whose ``q`` quantile is ``p99_factor``
    times that of shape ``sigma``."""
    return sigma + math.log(p99_factor) / float(stats.norm.ppf(q))


def latency_histograms(
    rng: np.random.Generator, traffic: Traffic, runs: int, median_s: float, sigma: float,
    bounds: Sequence[float] = PROM_BUCKETS,
) -> np.ndarray:
    """Cumulative (over looks) and cumulative (over buckets) counts of lognormal
    latencies, shape ``(runs, looks, len(bounds) + 1)``, the last bucket ``+Inf``."""
    cdf = stats.lognorm.cdf(np.asarray(bounds), sigma, scale=median_s)
    probs = np.diff(np.concatenate([[0.0], cdf, [1.0]]))
    per_look = rng.multinomial(traffic.per_look, probs, size=(runs, traffic.looks))
    return per_look.cumsum(axis=1).cumsum(axis=2).astype(float)


def histogram(counts: np.ndarray, bounds: Sequence[float] = PROM_BUCKETS) -> Histogram:
    return Histogram((*bounds, math.inf), tuple(counts.tolist()))


def first_fail(verdicts: Iterable[Verdict]) -> float:
    """The 1-based look of the first FAIL, ``inf`` if none (stops consuming there)."""
    for look, verdict in enumerate(verdicts, start=1):
        if verdict.failed:
            return float(look)
    return math.inf


def sequential_looks(
    baseline: np.ndarray, canary: np.ndarray, traffic: Traffic, settings: SequentialSettings,
) -> Iterator[Verdict]:
    """The sequential judge at each look of one run (cumulative error rows)."""
    state = SequentialState()
    for i in range(baseline.size):
        state, verdict = sequential(state, _counts(baseline, traffic.baseline_per_look, i), _counts(canary, traffic.per_look, i), settings)
        yield verdict


def fixed_looks(
    judge: Callable[[Counts, Counts, S], Verdict], baseline: np.ndarray, canary: np.ndarray,
    traffic: Traffic, settings: S,
) -> Iterator[Verdict]:
    """A fixed-sample judge re-run at each look on the cumulative counts (the naive way)."""
    for i in range(baseline.size):
        yield judge(_counts(baseline, traffic.baseline_per_look, i), _counts(canary, traffic.per_look, i), settings)


def spending_tail_looks(
    baseline: np.ndarray, canary: np.ndarray, tail: TailSettings, settings: SpendingSettings,
    bounds: Sequence[float] = PROM_BUCKETS,
) -> Iterator[Verdict]:
    """The tail judge under alpha spending at each look of one run (cumulative
    histogram rows, ``(looks, buckets)``)."""
    state = SpendingState()
    for i in range(baseline.shape[0]):
        hb, hc = histogram(baseline[i], bounds), histogram(canary[i], bounds)
        state, verdict = spending_look(state, tail_histogram, hb, hc, tail, settings)
        yield verdict


def _counts(errors: np.ndarray, per_look: int, look: int) -> Counts:
    return Counts(float(errors[look]), float(per_look * (look + 1)))
