"""SLO history: values at each step equal the report's budget at that instant."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from sloguard.labels import Labels
from sloguard.promql.engine import PromQLEngine
from sloguard.slo import budget, history
from sloguard.slo.history import HistoryError
from sloguard.slo.loader import load_text
from sloguard.slo.model import SLO
from sloguard.tsdb.testing import MemoryStorage

M, H, D = 60_000, 3_600_000, 86_400_000
NOW = 1_700_000_000_000 // H * H  # 2023-11-14T22:00:00Z, a Tuesday


def _slo(period: str = "1d", extra: str = "") -> SLO:
    slos, problems = load_text(f"""
apiVersion: sloguard/v1
service: api
slos:
  - name: avail
    objective: 99
    period: {period}
    grouping: [route]
    sli: {{ratio: {{bad: 'req_total{{code="500"}}', total: 'req_total'}}}}
{extra}
""", "t.yml")
    assert problems == []
    return slos[0]


def _store(start: int, end: int, late_start: int) -> MemoryStorage:
    """Route a from ``start`` with errors in waves; route b only from ``late_start``."""
    st = MemoryStorage()
    for route, first in (("a", start), ("b", late_start)):
        ts = np.arange(first, end + 1, M)
        err = 0.004 + 0.003 * np.sin(ts / (97 * M)) + np.where((ts // H) % 5 == 0, 0.02, 0.0)
        per_min = 100 if route == "a" else 40
        st.add(Labels.of(name__="req_total", route=route, code="500"), ts, np.cumsum(per_min * err))
        st.add(Labels.of(name__="req_total", route=route, code="200"), ts, np.cumsum(per_min * (1 - err)))
    return st


def _check_equal_to_report(engine: PromQLEngine, slo: SLO, h: history.History, picks: list[int], rel: float) -> None:
    for i in picks:
        at = int(h.steps[i])
        report = {tuple(b.labels.items()): b for b in budget.compute(engine, slo, at)}
        for s in h.series:
            b = report[tuple(s.labels.items())]
            if b.sli is None:  # no slot of the period yet (at its first instant): no data in both
                assert np.isnan(s.sli[i]) and np.isnan(s.budget_remaining[i]), (at, s.labels)
                continue
            assert s.sli[i] == pytest.approx(b.sli, rel=rel), (at, s.labels)
            assert s.budget_remaining[i] == pytest.approx(b.budget_remaining_ratio, rel=rel), (at, s.labels)
            assert s.coverage[i] == pytest.approx(b.coverage, rel=1e-9), (at, s.labels)
            for w in b.burn_rates:
                ms = {"5m": 5 * M, "1h": H, "6h": 6 * H, "1d": D}[w.window]
                assert s.burn_rates[ms][i] == pytest.approx(w.burn_rate, rel=1e-9), (at, s.labels, w.window)


def test_rolling_history_equals_the_report_at_each_step() -> None:
    st = _store(NOW - 2 * D, NOW, late_start=NOW - 20 * H)
    engine, slo = PromQLEngine(st), _slo()
    h = history.compute(engine, slo, NOW - 6 * H, NOW, 10 * M)
    assert len(h.steps) == 37 and [s.labels for s in h.series] == [{"route": "a"}, {"route": "b"}]
    assert set(h.windows_ms) >= {5 * M, H, 6 * H, D, 3 * D}  # every alert window, not only the report's
    _check_equal_to_report(engine, slo, h, [0, 7, 18, 36], rel=1e-9)
    b = h.series[1]
    assert b.coverage[0] == pytest.approx(14 / 24) and b.coverage[-1] == pytest.approx(20 / 24)
    assert np.all(h.series[0].coverage == 1.0)
    assert len(np.unique(np.round(h.series[0].budget_remaining, 6))) > 10  # it moves with the errors


def test_calendar_history_restarts_at_the_period_boundary() -> None:
    monday = int(dt.datetime(2023, 11, 13, tzinfo=dt.UTC).timestamp() * 1000)
    st = _store(monday - 3 * D, NOW, late_start=monday - 3 * D)
    engine, slo = PromQLEngine(st), _slo("{calendar: week, timezone: UTC}")
    h = history.compute(engine, slo, monday - 6 * H, monday + 18 * H, 30 * M)
    _check_equal_to_report(engine, slo, h, [0, 11, 12, 13, 30, 48], rel=1e-9)


def test_timeslice_history_counts_bad_slices_like_the_report() -> None:
    st = _store(NOW - 8 * H, NOW, late_start=NOW - 8 * H)
    engine = PromQLEngine(st)
    slo = _slo("2h", "    budgeting: {timeslices: {target: 0.99, slice: 1m}}")
    h = history.compute(engine, slo, NOW - 3 * H, NOW, 15 * M)
    _check_equal_to_report(engine, slo, h, [0, 5, 12], rel=1e-9)


@pytest.mark.parametrize(("start", "end", "step", "words"), [
    (NOW, NOW - H, M, "is before start"),
    (NOW - H, NOW, 0, "step must be positive"),
    (NOW - 30 * D, NOW, 60_000, "43,201 points"),
])
def test_bad_ranges_are_refused_with_the_values(start: int, end: int, step: int, words: str) -> None:
    with pytest.raises(HistoryError, match=words):
        history.compute(PromQLEngine(MemoryStorage()), _slo(), start, end, step)
