"""Latency judges: Mann-Whitney, the tail (from histogram buckets or samples) and the
spread test; the tail under alpha spending, by seeded simulation.

Simulated traffic: 1,000 requests/s, 5 % each to the canary and a fresh baseline, a look
every 60 s (3,000 observations per arm per look), 20 looks. Latency is lognormal with a
100 ms median and shape 0.5 (p99 320 ms); the slower canary keeps the median and has a
30 % higher p99 (416 ms). Prometheus' default buckets plus 0.15 to 0.4 s.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sloguard.delivery.judges import (
    Counts,
    Histogram,
    JudgeError,
    MannWhitneySettings,
    Outcome,
    SequentialState,
    SpendingSettings,
    TailSettings,
    mann_whitney,
    sequential,
    spread,
    tail_histogram,
    tail_samples,
)
from sloguard.delivery.judges.testing import (
    PROM_BUCKETS,
    Traffic,
    first_fail,
    latency_histograms,
    lognormal_sigma_for_p99,
    spending_tail_looks,
)
from sloguard.promql.functions._histogram import _quantiles

MEDIAN, SIGMA = 0.1, 0.5
SLOW = lognormal_sigma_for_p99(SIGMA, 1.3)
TRAFFIC = Traffic(rps=1000, canary_share=0.05, interval_s=60, looks=20)


def _samples(seed: int, n: int = 3000) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return MEDIAN * rng.lognormal(0, SIGMA, n), MEDIAN * rng.lognormal(0, SLOW, n)


def test_a_slower_p99_with_the_same_median_passes_mann_whitney_but_fails_the_tail_and_spread() -> None:
    b, c = _samples(31)
    assert abs(np.median(c) / np.median(b) - 1) < 0.05
    assert mann_whitney(b, c).outcome is Outcome.PASS
    assert tail_samples(b, c).outcome is Outcome.FAIL
    assert spread(b, c).outcome is Outcome.FAIL
    hb, hc = Histogram.from_samples(b, PROM_BUCKETS), Histogram.from_samples(c, PROM_BUCKETS)
    v = tail_histogram(hb, hc)
    assert v.outcome is Outcome.FAIL
    quantiles = dict(v.details)
    assert quantiles["canary_quantile"] > 1.15 * quantiles["baseline_quantile"]
    assert "p99" in v.reason and v.interval is not None and v.interval.low > 1


def test_the_same_distribution_passes_every_latency_judge() -> None:
    rng = np.random.default_rng(32)
    b, c = MEDIAN * rng.lognormal(0, SIGMA, 3000), MEDIAN * rng.lognormal(0, SIGMA, 3000)
    hb, hc = Histogram.from_samples(b, PROM_BUCKETS), Histogram.from_samples(c, PROM_BUCKETS)
    for v in (mann_whitney(b, c), tail_samples(b, c), spread(b, c), tail_histogram(hb, hc)):
        assert v.outcome is Outcome.PASS, v.reason


def test_mann_whitney_fails_a_uniformly_slower_canary_unless_within_tolerance() -> None:
    rng = np.random.default_rng(33)
    b, c = MEDIAN * rng.lognormal(0, SIGMA, 2000), 1.1 * MEDIAN * rng.lognormal(0, SIGMA, 2000)
    v = mann_whitney(b, c)
    assert v.outcome is Outcome.FAIL and v.effect > 0.5
    assert v.interval is not None and 0.5 < v.interval.low < v.effect
    assert mann_whitney(b, c, MannWhitneySettings(tolerance=0.2)).outcome is Outcome.PASS


def test_below_the_minimum_the_latency_judges_answer_insufficient_data_with_the_counts() -> None:
    b, c = _samples(34, n=999)
    v = tail_samples(b, c, TailSettings(min_samples=1000))
    assert v.outcome is Outcome.INSUFFICIENT_DATA and "999" in v.reason and "1,000" in v.reason
    assert mann_whitney(b[:49], c).outcome is Outcome.INSUFFICIENT_DATA
    hb = Histogram.from_samples(b, PROM_BUCKETS)
    assert tail_histogram(hb, hb).outcome is Outcome.INSUFFICIENT_DATA


@pytest.mark.parametrize("q", [0.5, 0.9, 0.99, 0.999, 1.0])
def test_histogram_quantile_matches_the_promql_engine(q: float) -> None:
    b, c = _samples(35, n=1000)
    for h in (Histogram.from_samples(b, PROM_BUCKETS), Histogram.from_samples(c * 30, PROM_BUCKETS)):
        counts = np.asarray(h.counts)[None, :, None]
        engine = _quantiles(np.array([q]), np.asarray(h.bounds)[None, :], counts, counts >= 0)
        assert h.quantile(q) == pytest.approx(float(engine[0, 0]))


def test_histogram_from_buckets_reads_le_strings_and_rejects_bad_buckets() -> None:
    h = Histogram.from_buckets({"+Inf": 10, "0.1": 4, "0.5": 9})
    assert h.bounds == (0.1, 0.5, math.inf) and h.counts == (4, 9, 10)
    assert h.quantile(0.5) == pytest.approx(0.1 + 0.4 * (1 / 5))
    with pytest.raises(JudgeError, match=r'last bucket must be le="\+Inf", got le=0.5'):
        Histogram((0.1, 0.5), (1, 2))
    with pytest.raises(JudgeError, match=r"le='fast' is not a number"):
        Histogram.from_buckets({"fast": 1, "+Inf": 2})
    with pytest.raises(JudgeError, match="same buckets"):
        tail_histogram(h, Histogram((0.2, 0.5, math.inf), (4, 9, 10)))


def test_tail_under_alpha_spending_keeps_false_rollbacks_below_alpha_and_detects_a_30_percent_slower_p99() -> None:
    rng = np.random.default_rng(36)
    tail, spend = TailSettings(alpha=0.05), SpendingSettings(alpha=0.05, looks=TRAFFIC.looks)
    same_b = latency_histograms(rng, TRAFFIC, 150, MEDIAN, SIGMA)
    same_c = latency_histograms(rng, TRAFFIC, 150, MEDIAN, SIGMA)
    null = [first_fail(spending_tail_looks(same_b[r], same_c[r], tail, spend)) for r in range(150)]
    assert np.isfinite(null).mean() <= 0.05
    slow_b = latency_histograms(rng, TRAFFIC, 60, MEDIAN, SIGMA)
    slow_c = latency_histograms(rng, TRAFFIC, 60, MEDIAN, SLOW)
    hits = np.array([first_fail(spending_tail_looks(slow_b[r], slow_c[r], tail, spend)) for r in range(60)])
    assert np.isfinite(hits).mean() >= 0.95
    assert np.median(hits) <= 2


def test_the_canary_quantile_interval_brackets_its_estimate() -> None:
    b, c = _samples(37)
    v = tail_histogram(Histogram.from_samples(b, PROM_BUCKETS), Histogram.from_samples(c, PROM_BUCKETS))
    d = dict(v.details)
    assert d["canary_quantile_low"] < d["canary_quantile"] < d["canary_quantile_high"]
    assert d["canary_quantile_low"] > d["baseline_quantile"]  # 3,000 samples resolve a 30 % shift


def test_requests_slower_than_a_fixed_bucket_are_counts_the_sequential_judge_can_watch() -> None:
    rng = np.random.default_rng(38)
    bound = PROM_BUCKETS.index(0.3)
    b = latency_histograms(rng, TRAFFIC, 1, MEDIAN, SIGMA)[0]
    c = latency_histograms(rng, TRAFFIC, 1, MEDIAN, SLOW)[0]
    state, verdict = SequentialState(), None
    for look in range(TRAFFIC.looks):
        above_b = Counts(b[look, -1] - b[look, bound], b[look, -1])
        above_c = Counts(c[look, -1] - c[look, bound], c[look, -1])
        state, verdict = sequential(state, above_b, above_c)
    assert verdict is not None and verdict.outcome is Outcome.FAIL and state.failed_at is not None


def test_bad_latency_settings_are_errors_naming_the_value() -> None:
    with pytest.raises(JudgeError, match=r"TailSettings.quantile must be in \[0.5, 1\), got 99"):
        TailSettings(quantile=99)
    with pytest.raises(JudgeError, match=r"MannWhitneySettings.tolerance is a relative tolerance.*got -0.1"):
        MannWhitneySettings(tolerance=-0.1)
    with pytest.raises(JudgeError, match=r"baseline samples contain an infinite value"):
        mann_whitney([1.0, math.inf], [1.0, 2.0])
