"""Tail and spread judges: a slower tail or a wider spread fails even when the median is
unchanged (where Mann-Whitney, a test of the bulk, can pass).

Tail: the threshold is a high quantile (``quantile``, default p99) of the two arms pooled
(for histograms: the largest bucket bound with at least ``1 - quantile`` of the pooled
observations above it). Choosing it from pooled data keeps the test exact, since under
H0 the arms are exchangeable. The counts above it are then compared with the conditional
binomial test (:func:`sloguard.delivery.judges.exact.rate_ratio`): the canary's share of
slow requests must not exceed the baseline's by more than ``tolerance``. The verdict
also carries both arms' quantile estimates (``histogram_quantile`` for buckets) and an
order-statistic interval for the canary's.

Spread: Brown-Forsythe, one-sided: absolute deviations from each arm's median compared by
Welch's t-test ("the canary's deviations are larger").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sloguard.delivery.judges._errors import JudgeError
from sloguard.delivery.judges._histogram import Histogram
from sloguard.delivery.judges._inputs import (
    Counts,
    FloatArray,
    as_samples,
    check_alpha,
    check_minimum,
    check_tolerance,
)
from sloguard.delivery.judges._verdict import (
    Interval,
    Outcome,
    Verdict,
    decide,
    fmt,
    insufficient,
    pct,
    verdict_word,
)
from sloguard.delivery.judges.exact import ExactSettings, rate_ratio

TAIL = "tail"
SPREAD = "spread"


@dataclass(frozen=True, slots=True)
class TailSettings:
    """``quantile``: the tail's start (0.99 = p99). ``alpha``: one-sided level.
    ``min_samples``: observations per arm (the default leaves 10 expected above p99).
    ``tolerance``: the canary's share of slow requests may exceed the baseline's by this
    fraction before it counts as worse."""

    alpha: float = 0.05
    quantile: float = 0.99
    min_samples: float = 1000.0
    tolerance: float = 0.0

    def __post_init__(self) -> None:
        check_alpha(self.alpha, "TailSettings")
        if not 0.5 <= self.quantile < 1:
            raise JudgeError(f"TailSettings.quantile must be in [0.5, 1), got {self.quantile!r}.")
        check_minimum(self.min_samples, "min_samples", "TailSettings")
        check_tolerance(self.tolerance, "tolerance", "TailSettings")


def tail_histogram(
    baseline: Histogram, canary: Histogram, settings: TailSettings = TailSettings()
) -> Verdict:
    """Judge the canary's tail from its histogram buckets against the baseline's."""
    if baseline.bounds != canary.bounds:
        raise JudgeError(
            f"The tail judge needs both histograms on the same buckets; baseline has "
            f"{list(baseline.bounds)!r}, canary {list(canary.bounds)!r}."
        )
    nb, nc, s = baseline.total, canary.total, settings
    if min(nb, nc) < s.min_samples or min(nb, nc) == 0:
        return insufficient(TAIL, s.alpha, nb, nc, s.min_samples, "observations")
    pooled = Histogram(baseline.bounds, tuple(np.add(baseline.counts, canary.counts).tolist()))
    need = (1 - s.quantile) * pooled.total
    finite = baseline.bounds[:-1]
    threshold = next((b for b in reversed(finite) if pooled.above(b) >= need), finite[0])
    qb, qc = baseline.quantile(s.quantile), canary.quantile(s.quantile)
    lo, hi = canary.quantile_interval(s.quantile, 1 - s.alpha)
    extra = (("canary_quantile_low", lo), ("canary_quantile_high", hi))
    counts = Counts(baseline.above(threshold), nb), Counts(canary.above(threshold), nc)
    return _tail_verdict(counts, threshold, qb, qc, s, extra)


def tail_samples(
    baseline: Sequence[float] | FloatArray,
    canary: Sequence[float] | FloatArray,
    settings: TailSettings = TailSettings(),
) -> Verdict:
    """Judge the canary's tail from raw observations (NaN dropped)."""
    b, c, s = as_samples(baseline, "baseline"), as_samples(canary, "canary"), settings
    if min(b.size, c.size) < s.min_samples or min(b.size, c.size) == 0:
        return insufficient(TAIL, s.alpha, b.size, c.size, s.min_samples, "observations")
    threshold = float(np.quantile(np.concatenate([b, c]), s.quantile, method="lower"))
    qb, qc = float(np.quantile(b, s.quantile)), float(np.quantile(c, s.quantile))
    counts = Counts(float((b > threshold).sum()), b.size), Counts(float((c > threshold).sum()), c.size)
    return _tail_verdict(counts, threshold, qb, qc, s, ())


def _tail_verdict(
    counts: tuple[Counts, Counts],
    threshold: float,
    qb: float,
    qc: float,
    s: TailSettings,
    extra: tuple[tuple[str, float], ...],
) -> Verdict:
    inner = rate_ratio(*counts, ExactSettings(s.alpha, 0.0, s.tolerance))
    base, can = counts
    name = f"p{s.quantile * 100:g}"
    reason = (
        f"canary {name} {fmt(qc)} vs baseline {fmt(qb)}; {pct(can.rate)} of canary observations "
        f"above {fmt(threshold)} vs {pct(base.rate)} of baseline (exact p = {fmt(inner.p_value)} "
        f"{'<=' if inner.outcome is Outcome.FAIL else '>'} alpha {s.alpha:g}), "
        f"{verdict_word(inner.outcome)}"
    )
    details = (("threshold", threshold), ("baseline_quantile", qb), ("canary_quantile", qc),
               ("baseline_share_above", base.rate), ("canary_share_above", can.rate), *extra)  # fmt: skip
    return Verdict(
        TAIL, inner.outcome, reason, s.alpha, base.exposure, can.exposure,
        statistic=inner.statistic, statistic_name=f"canary observations above {fmt(threshold)}",
        p_value=inner.p_value, effect=inner.effect,
        effect_name=f"canary/baseline share above the pooled {name}",
        interval=inner.interval, details=details,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class SpreadSettings:
    """``alpha``: one-sided level; ``min_samples`` per arm."""

    alpha: float = 0.05
    min_samples: float = 50.0

    def __post_init__(self) -> None:
        check_alpha(self.alpha, "SpreadSettings")
        check_minimum(self.min_samples, "min_samples", "SpreadSettings")


def spread(
    baseline: Sequence[float] | FloatArray,
    canary: Sequence[float] | FloatArray,
    settings: SpreadSettings = SpreadSettings(),
) -> Verdict:
    """Brown-Forsythe, one-sided: is the canary's spread around its median wider?"""
    b, c, s = as_samples(baseline, "baseline"), as_samples(canary, "canary"), settings
    if min(b.size, c.size) < max(s.min_samples, 2):
        return insufficient(SPREAD, s.alpha, b.size, c.size, max(s.min_samples, 2), "samples")
    db, dc = np.abs(b - np.median(b)), np.abs(c - np.median(c))
    if db.std() == 0 and dc.std() == 0:
        return _no_spread(b, c, db, dc, s)
    from scipy import stats

    res = stats.ttest_ind(dc, db, equal_var=False, alternative="greater")
    ci = res.confidence_interval(1 - s.alpha)
    return _spread_verdict(b, c, db, dc, (float(res.statistic), float(res.pvalue), float(ci.low), float(ci.high)), s)


def _spread_verdict(
    b: FloatArray, c: FloatArray, db: FloatArray, dc: FloatArray,
    test: tuple[float, float, float, float], s: SpreadSettings,
) -> Verdict:
    t, p, low, high = test
    mb, mc, outcome = float(db.mean()), float(dc.mean()), decide(p, s.alpha)
    reason = (
        f"canary mean absolute deviation from its median {fmt(mc)} vs baseline {fmt(mb)}: "
        f"t = {t:.2f}, p = {fmt(p)} {'<=' if outcome is Outcome.FAIL else '>'} alpha "
        f"{s.alpha:g}, {verdict_word(outcome)}"
    )
    return Verdict(
        SPREAD, outcome, reason, s.alpha, b.size, c.size,
        statistic=t, statistic_name="Welch t on absolute deviations", p_value=p,
        effect=mc - mb, effect_name="canary - baseline mean absolute deviation",
        interval=Interval(low, high, 1 - s.alpha),
        details=(("baseline_mad", mb), ("canary_mad", mc)),
    )  # fmt: skip


def _no_spread(b: FloatArray, c: FloatArray, db: FloatArray, dc: FloatArray, s: SpreadSettings) -> Verdict:
    worse = float(dc.mean()) > float(db.mean())
    outcome = Outcome.FAIL if worse else Outcome.PASS
    reason = f"every deviation from the median is constant in both arms, {verdict_word(outcome)}"
    return Verdict(SPREAD, outcome, reason, s.alpha, b.size, c.size, p_value=0.0 if worse else 1.0,
                   effect=float(dc.mean() - db.mean()), effect_name="canary - baseline mean absolute deviation")  # fmt: skip


