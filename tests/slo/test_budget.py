import datetime as dt

import numpy as np
import pytest

from sloguard.labels import Labels
from sloguard.promql.engine import PromQLEngine
from sloguard.slo import budget
from sloguard.slo.budget import BudgetStatus
from sloguard.slo.loader import load_text
from sloguard.slo.model import CalendarUnit, Period
from sloguard.tsdb.testing import MemoryStorage

M, H, D = 60_000, 3_600_000, 86_400_000
NOW = 1_700_000_000_000 // H * H  # 2023-11-14T22:00:00Z


def _slo(period: str = "1d", extra: str = ""):  # type: ignore[no-untyped-def]
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


def _load(st: MemoryStorage, route: str, start: int, end: int, per_min: float, err: float) -> None:
    ts = np.arange(start, end + 1, M)
    st.add(Labels.of(name__="req_total", route=route, code="500"), ts, np.cumsum(np.full(len(ts), per_min * err)))
    st.add(Labels.of(name__="req_total", route=route, code="200"), ts, np.cumsum(np.full(len(ts), per_min * (1 - err))))


def test_rolling_budget_counts_events_and_minutes() -> None:
    st = MemoryStorage()
    _load(st, "a", NOW - D, NOW, 100, 0.005)  # half the 1% budget spent
    _load(st, "b", NOW - D, NOW, 100, 0.02)  # twice the budget: exhausted
    a, b = budget.compute(PromQLEngine(st), _slo(), NOW)
    assert a.labels == {"route": "a"} and b.labels == {"route": "b"}
    assert a.sli == pytest.approx(0.995, rel=1e-6)
    assert a.budget_remaining_ratio == pytest.approx(0.5, rel=1e-3)
    assert a.budget_remaining_minutes == pytest.approx(0.5 * 0.01 * 24 * 60, rel=1e-3)
    assert a.total_events == pytest.approx(100 * 24 * 60, rel=1e-3)
    assert a.budget_remaining_events == pytest.approx(a.total_events * 0.01 - a.bad_events)
    assert a.status is BudgetStatus.OK and b.status is BudgetStatus.EXHAUSTED
    assert b.budget_remaining_ratio == pytest.approx(-1.0, rel=1e-3)
    burn_1h = next(w for w in a.burn_rates if w.window == "1h")
    assert burn_1h.burn_rate == pytest.approx(0.5, rel=1e-6)
    # at 0.5x burn the remaining half lasts a whole period
    assert a.time_to_exhaustion_s == pytest.approx(D / 1000, rel=1e-3)


def test_no_data_is_reported_never_as_a_perfect_sli() -> None:
    (b,) = budget.compute(PromQLEngine(MemoryStorage()), _slo(), NOW)
    assert b.status is BudgetStatus.NO_DATA and b.sli is None and b.budget_remaining_ratio is None
    assert "req_total" in b.message and "no series" in b.message  # names the missing metric


def test_calendar_month_starts_at_the_boundary_in_its_time_zone() -> None:
    p = Period(rolling_ms=None, calendar=CalendarUnit.MONTH, timezone="Europe/Berlin")
    at = int(dt.datetime(2023, 3, 15, 12, tzinfo=dt.UTC).timestamp() * 1000)
    start = budget.period_start_ms(p, at)
    assert dt.datetime.fromtimestamp(start / 1000, dt.UTC) == dt.datetime(2023, 2, 28, 23, tzinfo=dt.UTC)
    assert budget.period_length_ms(p, at) == 31 * D - H  # March loses an hour to DST in Berlin
    w = Period(rolling_ms=None, calendar=CalendarUnit.WEEK, timezone="UTC")
    assert dt.datetime.fromtimestamp(budget.period_start_ms(w, at) / 1000, dt.UTC) == dt.datetime(2023, 3, 13, tzinfo=dt.UTC)


def test_calendar_budget_only_counts_events_since_the_period_start() -> None:
    st = MemoryStorage()
    start = int(dt.datetime(2023, 11, 13, tzinfo=dt.UTC).timestamp() * 1000)  # Monday
    _load(st, "a", start - 2 * D, start, 100, 0.5)  # a bad previous week must not count
    _load(st, "a2", start, NOW, 100, 0.0)
    slo = _slo("{calendar: week, timezone: UTC}")
    results = {tuple(b.labels.items()): b for b in budget.compute(PromQLEngine(st), slo, NOW)}
    clean = results[(("route", "a2"),)]
    assert clean.budget_remaining_ratio == pytest.approx(1.0)
    assert clean.period_start_ms == start


def test_timeslices_count_bad_slices_against_the_objective() -> None:
    st = MemoryStorage()
    ts = np.arange(NOW - 2 * H, NOW + 1, M)
    err = np.where(ts > NOW - 30 * M, 0.5, 0.0)  # the last 30 one-minute slices are bad
    st.add(Labels.of(name__="req_total", route="a", code="500"), ts, np.cumsum(100 * err))
    st.add(Labels.of(name__="req_total", route="a", code="200"), ts, np.cumsum(100 * (1 - err)))
    slo = _slo("2h", "    budgeting: {timeslices: {target: 0.95, slice: 1m}}")
    (b,) = budget.compute(PromQLEngine(st), slo, NOW)
    # 120 slices, 30 bad (rate windows straddling the change make one more bad)
    assert b.total_events == pytest.approx(120, abs=1)
    assert b.bad_events == pytest.approx(30, abs=1)
    assert b.status is BudgetStatus.EXHAUSTED  # 1% of 120 slices allows about one bad slice
