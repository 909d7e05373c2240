"""max_samples: the engine fails exactly where Prometheus 2.42 does.

Peaks were recorded from the real binary (``stats=all`` → ``peakSamples``) on the
differential test's data set; a query passes with ``max_samples == peak`` and fails with
one less, as ``currentSamples > maxSamples`` fails upstream.
"""

from __future__ import annotations

import pytest

from sloguard.labels import Labels
from sloguard.promql import EngineOptions, PromQLEngine, PromQLError
from sloguard.tsdb.testing import MemoryStorage

from .test_differential_cases import END_S, generate_series

T = (END_S - 1000) * 1000
START = (END_S - 3600) * 1000

# (kind, expression, peakSamples reported by Prometheus 2.42)
PEAKS = [
    ("i", "diff_temperature", 4),
    ("i", "rate(diff_requests_total[10m])", 52),
    ("i", "sum by (job) (diff_requests_total)", 26),
    ("i", "diff_temperature + diff_temperature", 20),
    ("i", "max_over_time(diff_temperature[30m:1m])", 154),
    ("i", "rate(diff_requests_total[1h]) / rate(diff_requests_total[1h] offset 1h)", 264),
    ("i", "topk(2, diff_temperature)", 12),
    ("i", "1 + 1", 5),
    ("i", "histogram_quantile(0.9, sum by (le) (rate(diff_latency_seconds_bucket[5m])))", 92),
    ("i", "diff_requests_total[5m]", 240),
    ("i", "avg_over_time(max_over_time(diff_temperature[10m:1m])[30m:5m])", 183),
    ("r", "avg_over_time(max_over_time(diff_temperature[10m:1m])[30m:5m])", 398),
    ("r", "diff_temperature", 176),
    ("r", "sum(rate(diff_requests_total[10m]))", 584),
    ("r", "sum by (job) (diff_requests_total)", 628),
    ("r", "max_over_time(diff_temperature[30m:1m])", 497),
    ("r", "rate(diff_requests_total[1h]) / rate(diff_requests_total[1h] offset 1h)", 1608),
    ("r", "topk(2, diff_temperature)", 313),
    ("r", "time()", 44),
    ("r", "diff_temperature @ 1699990000", 176),
]


@pytest.fixture(scope="module")
def storage() -> MemoryStorage:
    st = MemoryStorage()
    for s in generate_series():
        st.add(Labels(s.labels.items()), [t for t, _ in s.samples], [v for _, v in s.samples])
    return st


def run(st: MemoryStorage, kind: str, expr: str, max_samples: int) -> None:
    e = PromQLEngine(st, EngineOptions(max_samples=max_samples))
    if kind == "i":
        e.instant_query(expr, T)
    else:
        e.range_query(expr, START, T, 60_000)


@pytest.mark.parametrize(("kind", "expr", "peak"), PEAKS, ids=[f"{k}:{e}" for k, e, _ in PEAKS])
def test_max_samples_threshold_matches_prometheus(storage: MemoryStorage, kind: str, expr: str, peak: int) -> None:
    run(storage, kind, expr, peak)
    with pytest.raises(PromQLError, match="query processing would load too many samples into memory"):
        run(storage, kind, expr, peak - 1)


@pytest.mark.parametrize(("expr", "peak"), [("1 + 1", 5), ("diff_temperature > (2 * 0.5)", 14)])
def test_remembered_number_arithmetic_counts_like_its_first_evaluation(storage: MemoryStorage, expr: str, peak: int) -> None:
    """Number arithmetic is evaluated once and remembered across instant queries; both
    the first evaluation and the remembered one must hit the limit at the same count
    (5 is Prometheus' peak; 14 is what the evaluator counts with remembering disabled)."""
    from sloguard.promql import _eval

    for warm in (False, True):
        if not warm:
            _eval._CONSTANTS.clear()
        run(storage, "i", expr, peak)
        if not warm:
            _eval._CONSTANTS.clear()
        with pytest.raises(PromQLError, match="query processing would load too many samples into memory"):
            run(storage, "i", expr, peak - 1)
    assert _eval._CONSTANTS  # the arithmetic was remembered
