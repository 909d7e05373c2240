"""One budget everywhere: the generated budget rules, evaluated by sloguard's rule engine
and by ``promtool test rules``, and ``budget.compute`` (the report) give the same
``slo:error_budget_remaining:ratio`` and period ratio, to 1e-9, on the same series.

The series span, in Europe/Rome, the DST change (1973-09-29 23:00 UTC) and, 24 hours
later, the start of a week, a month and a quarter (Monday 1973-10-01 00:00 CET), with
error bursts on both sides of the boundary; the instants compared are before the DST
change, between it and the boundary, and after the boundary.
Mutants of the rules (a rolling period instead of the calendar one, another slice step,
offsets that ignore DST) must make the comparison fail.
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from sloguard.labels import Labels
from sloguard.promql import Sample, Series
from sloguard.promql.engine import PromQLEngine
from sloguard.rules import ManagerOptions, RuleManager, engine_query_func
from sloguard.slo import _budget_rules, _calendar, _period_expr, budget, rulegen
from sloguard.slo._yaml import dump_yaml
from sloguard.slo.loader import load_text
from sloguard.slo.model import SLO, BudgetingMethod, CalendarUnit, Period
from sloguard.tsdb import TSDB, FsyncPolicy, TSDBOptions
from sloguard.tsdb.testing import MemoryStorage
from tests.slo.test_differential_promtool import _assert_only_float_noise

STEP = 300_000


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return int(dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC).timestamp() * 1000)


DST = _utc(1973, 9, 29, 23)  # Europe/Rome: 01:00 CEST becomes 00:00 CET
BOUNDARY = _utc(1973, 9, 30, 23)  # Monday October 1st, 00:00 CET: week, month and quarter
DATA_START = _utc(1973, 9, 29, 21)
INSTANTS = (_utc(1973, 9, 29, 22, 30), _utc(1973, 9, 30, 22), _utc(1973, 10, 1, 2))
BURSTS = ((_utc(1973, 9, 29, 21, 30), 0.1), (_utc(1973, 9, 30, 18), 0.05), (_utc(1973, 9, 30, 23), 0.1))
#: promtool's tests start at the epoch and its series notation spells every 5m step up to
#: the data, so the series are in 1973 (the same boundaries as 2024-04-01 00:00 in Berlin), and
#: the rules' time-zone horizon is moved to cover them.
HORIZON = (_utc(1973, 1, 1), _utc(1975, 1, 1))

SLI = "{ratio: {bad: 'requests_total{job=\"api\",code=\"500\"}', total: 'requests_total{job=\"api\"}'}}"
QUIET = "{page: false, ticket: false, no_data: false}"
SPEC = f"""
apiVersion: sloguard/v1
service: api
slos:
  - {{name: month, objective: 99.5, period: {{calendar: month, timezone: Europe/Rome}}, grouping: [route], sli: {SLI}, alerting: {QUIET}}}
  - {{name: week, objective: 99.5, period: {{calendar: week, timezone: Europe/Rome}}, grouping: [route], sli: {SLI}, alerting: {QUIET}}}
  - {{name: quarter, objective: 99.9, period: {{calendar: quarter, timezone: Europe/Rome}}, grouping: [route], sli: {SLI}, alerting: {QUIET}}}
  - {{name: rolling, objective: 99.5, period: 2d, grouping: [route], sli: {SLI}, alerting: {QUIET}}}
  - {{name: slices, objective: 99, period: {{calendar: month, timezone: Europe/Rome}}, grouping: [route],
      budgeting: {{timeslices: {{target: 0.99, slice: 10m}}}}, sli: {SLI}, alerting: {QUIET}}}
"""


def _slos() -> list[SLO]:
    slos, problems = load_text(SPEC, "spec.yml")
    assert problems == []
    return slos


def _traffic() -> dict[Labels, np.ndarray]:
    """Counters every 5m: route a with 0.1% errors and three bursts, route b with no
    error series at all (only code="200")."""
    ts = np.arange(DATA_START, INSTANTS[-1] + 1, STEP, dtype=np.int64)
    rng = np.random.default_rng(9)
    per_step = rng.integers(500, 700, len(ts)).astype(float)
    frac = np.full(len(ts), 0.001)
    for start, f in BURSTS:
        frac[(ts > start) & (ts <= start + 3_600_000)] = f
    bad = np.round(per_step * frac)
    out = {
        Labels.of(name__="requests_total", job="api", route="a", code="500"): np.cumsum(bad),
        Labels.of(name__="requests_total", job="api", route="a", code="200"): np.cumsum(per_step - bad),
        Labels.of(name__="requests_total", job="api", route="b", code="200"): np.cumsum(per_step),
    }
    return {k: np.stack([ts.astype(float), v]) for k, v in out.items()}


def _ingest(db: TSDB, traffic: dict[Labels, np.ndarray], t: int) -> None:
    """Append the samples at ``t`` (as a scrape would, so the head accepts rule output)."""
    app = db.appender()
    for labels, (ts, vs) in traffic.items():
        i = int(np.searchsorted(ts, t))
        if i < len(ts) and ts[i] == t:
            app.append(labels, t, float(vs[i]))
    assert app.commit().rejected_total == 0


Values = dict[tuple[str, str, str], float]  # (record, slo, route) -> value
RECORDS = ("slo:error_budget_remaining:ratio", "period_ratio", "slo:period_start:timestamp", "slo:period_end:timestamp")


def _rules(slos: list[SLO]) -> dict[str, Any]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_calendar, "HORIZON_START_MS", HORIZON[0])
        mp.setattr(_calendar, "HORIZON_END_MS", HORIZON[1])
        _calendar.offset_steps.cache_clear()
        _calendar.boundaries.cache_clear()
        try:
            return rulegen.generate(slos, STEP)
        finally:
            _calendar.offset_steps.cache_clear()
            _calendar.boundaries.cache_clear()


def _embedded(tmp: Path, slos: list[SLO], traffic: dict[Labels, np.ndarray]) -> tuple[TSDB, dict[int, Values]]:
    """Evaluate the generated rules: SLI groups every 5m, budget groups at the instants."""
    st = TSDB.open(tmp / "data", TSDBOptions(fsync=FsyncPolicy.NEVER, retention_ms=0))
    engine = PromQLEngine(st)
    rules_file = tmp / "slo.rules.yml"
    rules_file.write_text(dump_yaml([_rules(slos)]))
    groups = RuleManager(ManagerOptions(query=engine_query_func(engine), storage=st)).load_groups([str(rules_file)], STEP)
    # a timeslice budget reads the source series, not the SLI group's records
    occurrences = {f"sloguard-slo-{s.name}" for s in slos if s.budgeting is BudgetingMethod.OCCURRENCES}
    sli = [g for g in groups.values() if g.name in occurrences]
    budget_groups = [g for g in groups.values() if g.name.endswith("-budget")]
    out: dict[int, Values] = {}
    for t in range(DATA_START, INSTANTS[-1] + 1, STEP):
        _ingest(st, traffic, t)
        for g in sli + (budget_groups if t in INSTANTS else []):
            g.eval(t)
            errors = [r.status.last_error for r in g.rules if r.status.last_error]
            assert not errors, errors
        if t in INSTANTS:
            out[t] = _read(engine, slos, t)
    return st, out


def _read(engine: PromQLEngine, slos: list[SLO], t: int) -> Values:
    vals: Values = {}
    for slo in slos:
        for rec in RECORDS:
            name = _budget_rules.period_ratio_name(slo) if rec == "period_ratio" else rec
            for s in _samples(engine.instant_query(f'{name}{{slo="{slo.name}"}}', t).value):
                vals[(rec, slo.name, s.labels.get("route") or "")] = s.v
    return vals


def _samples(value: object) -> list[Sample]:
    assert isinstance(value, list) and all(isinstance(s, Sample) for s in value), value
    return value


def _series(value: object) -> list[Series]:
    assert isinstance(value, list) and all(isinstance(s, Series) for s in value), value
    return value


def _report(st: TSDB, slos: list[SLO], t: int) -> Values:
    """What ``budget.compute`` says at ``t`` from the raw series."""
    vals: Values = {}
    engine = PromQLEngine(st)
    for slo in slos:
        for b in budget.compute(engine, slo, t):
            route = b.labels.get("route", "")
            assert b.budget_remaining_ratio is not None and b.bad_events is not None and b.total_events
            vals[("slo:error_budget_remaining:ratio", slo.name, route)] = b.budget_remaining_ratio
            vals[("period_ratio", slo.name, route)] = b.bad_events / b.total_events
        start, end = budget.period_start_ms(slo.period, t), budget.period_end_ms(slo.period, t)
        vals[("slo:period_start:timestamp", slo.name, "")] = start / 1000
        vals[("slo:period_end:timestamp", slo.name, "")] = end / 1000
    return vals


def _disagreements(a: Values, b: Values) -> list[str]:
    out = [f"{k}: only in one: {a.get(k)} vs {b.get(k)}" for k in sorted(set(a) ^ set(b))]
    for k in sorted(set(a) & set(b)):
        if not math.isclose(a[k], b[k], rel_tol=1e-9, abs_tol=1e-9):
            out.append(f"{k}: {a[k]!r} != {b[k]!r}")
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[SLO], dict[Labels, np.ndarray], TSDB, dict[int, Values]]:
    slos, traffic = _slos(), _traffic()
    st, embedded = _embedded(tmp_path_factory.mktemp("budget"), slos, traffic)
    return slos, traffic, st, embedded


def test_rules_and_report_agree_across_dst_week_month_and_quarter_boundaries(world: Any) -> None:
    slos, _, st, embedded = world
    for t in INSTANTS:
        assert _disagreements(embedded[t], _report(st, slos, t)) == [], dt.datetime.fromtimestamp(t / 1000, dt.UTC)
    # the rules are not vacuous: every SLO and route has a value at every instant
    assert {(r, s) for (rec, s, r) in embedded[INSTANTS[-1]] if rec == "period_ratio"} == {
        (r, s.name) for s in slos for r in ("a", "b")}


def _expected_ratio(traffic: dict[Labels, np.ndarray], start_ms: int, t: int) -> float:
    """Route a's error ratio from the counters themselves: increments of the 5m steps in (start, t]."""
    (ts, bad), (_, good) = (traffic[Labels.of(name__="requests_total", job="api", route="a", code=c)] for c in ("500", "200"))
    inc = (ts > max(start_ms, DATA_START)) & (ts <= t)  # a step counts the increment since the step before
    d_bad, d_good = np.diff(bad, prepend=np.nan), np.diff(good, prepend=np.nan)
    return float(np.sum(d_bad[inc]) / (np.sum(d_bad[inc]) + np.sum(d_good[inc])))


def test_period_ratio_counts_exactly_the_events_since_the_calendar_boundary(world: Any) -> None:
    slos, traffic, _, embedded = world
    by_name = {s.name: s for s in slos}
    for t in INSTANTS:
        for name in ("month", "week", "quarter", "rolling"):
            start = budget.period_start_ms(by_name[name].period, t)
            want = _expected_ratio(traffic, start, t)
            assert embedded[t][("period_ratio", name, "a")] == pytest.approx(want, rel=1e-9), (name, t)
    after = INSTANTS[-1]
    # after the boundary the calendar periods forget March's bursts; the rolling one does not
    assert embedded[after][("period_ratio", "month", "a")] > 2 * embedded[after][("period_ratio", "rolling", "a")]


def test_no_error_series_counts_as_zero_errors_and_a_full_budget(world: Any) -> None:
    slos, _, _, embedded = world
    for t in INSTANTS:
        for slo in slos:
            assert embedded[t][("slo:error_budget_remaining:ratio", slo.name, "b")] == 1.0
            assert embedded[t][("period_ratio", slo.name, "b")] == 0.0


def test_timeslices_spend_the_whole_periods_allowance_of_bad_slices(world: Any) -> None:
    slos, _, st, embedded = world
    slo = next(s for s in slos if s.name == "slices")
    t = INSTANTS[1]
    (b,) = [b for b in budget.compute(PromQLEngine(st), slo, t) if b.labels == {"route": "a"}]
    september_slices = (30 * 86_400_000 + 3_600_000) // 600_000  # September in Rome gains an hour
    assert b.bad_events is not None and b.bad_events >= 6  # the two bursts (1h each at 10% and 5%)
    assert embedded[t][("slo:error_budget_remaining:ratio", "slices", "a")] == pytest.approx(
        1 - b.bad_events / (0.01 * september_slices), rel=1e-12)


@contextmanager
def _mutant(target: object, name: str, replacement: Callable[..., Any]) -> Iterator[None]:
    mp = pytest.MonkeyPatch()
    mp.setattr(target, name, replacement)
    try:
        yield
    finally:
        mp.undo()


def _rolling_bounds(slo: SLO) -> list[tuple[str, str]]:
    return [(_budget_rules.PERIOD_START, f"vector(time() - {slo.period.nominal_ms // 1000})"),
            (_budget_rules.PERIOD_END, "vector(time())")]


def _coarse_bad_slices(error_rate: str, total_rate: str, threshold: float, start: str, period: Period, slice_ms: int) -> str:
    return ORIGINAL_BAD_SLICES(error_rate, total_rate, threshold, start, period, 2 * slice_ms)


def _offsets_ignoring_dst(period: Period, at_end: bool) -> str:
    return "3600"


ORIGINAL_BAD_SLICES = _period_expr.bad_slices
MUTANTS: dict[str, tuple[object, str, Callable[..., Any], str]] = {
    "rolling instead of calendar": (_budget_rules, "_bounds_rules", _rolling_bounds, "month"),
    "slices counted at twice the slice step": (_period_expr, "bad_slices", _coarse_bad_slices, "slices"),
    "boundary offsets ignoring DST": (_period_expr, "_boundary_offsets", _offsets_ignoring_dst, "slices"),
}


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_a_mutated_budget_rule_disagrees_with_the_report(world: Any, mutant: str, tmp_path: Path) -> None:
    slos, traffic, st, _ = world
    target, attr, replacement, slo_name = MUTANTS[mutant]
    slo = [s for s in slos if s.name == slo_name]
    with _mutant(target, attr, replacement):
        _, embedded = _embedded(tmp_path, slo, traffic)
    assert any(_disagreements(embedded[t], _report(st, slo, t)) for t in INSTANTS)


ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "America/Santiago")
QUARTER_HOUR = 900_000
FINE = {  # a quarter of 2025 swept every 15 minutes
    "Europe/Berlin": (_utc(2025, 1, 1), _utc(2025, 4, 1)),  # spring change, April 1st
    "America/Santiago": (_utc(2025, 4, 1), _utc(2025, 7, 1)),  # autumn change at midnight
}


def test_calendar_boundaries_in_promql_equal_zoneinfos_at_every_instant() -> None:
    """Start and end of week, month and quarter, evaluated as PromQL every 15 minutes of a
    quarter in two zones (every local midnight and DST change there falls on a quarter
    hour, and so does the instant before it) and every 2d21h of the horizon in six zones."""
    engine = PromQLEngine(MemoryStorage())  # the expressions read only time()
    coarse = (_calendar.HORIZON_START_MS, _calendar.HORIZON_END_MS - 86_400_000, 248_000_000)
    for tz in ZONES:
        spans = [coarse] + ([(FINE[tz][0], FINE[tz][1] - QUARTER_HOUR, QUARTER_HOUR)] if tz in FINE else [])
        for unit in CalendarUnit:
            p = Period(rolling_ms=None, calendar=unit, timezone=tz)
            local = _period_expr.local_time_expr(p)
            for expr, want in ((_period_expr.start_expr(p, local), budget.period_start_ms), (_period_expr.end_expr(p, local), budget.period_end_ms)):
                for start, end, step in spans:
                    (series,) = _series(engine.range_query(expr, start, end, step).value)
                    expected = [want(p, int(t)) / 1000 for t in series.timestamps]
                    assert len(series.timestamps) == (end - start) // step + 1
                    bad = [(int(t), got, w) for t, got, w in zip(series.timestamps, series.values, expected, strict=True) if got != w]
                    assert bad == [], (tz, unit, bad[:3])


def _series_text(labels: Labels, ts: np.ndarray, vs: np.ndarray) -> dict[str, str]:
    """A promtool input series on the 5m grid from time 0 (``_xN`` skips N steps)."""
    assert np.all(np.diff(ts) == STEP) and ts[0] % STEP == 0
    return {"series": str(labels), "values": f"_x{int(ts[0]) // STEP} " + " ".join(repr(float(v)) for v in vs)}


@pytest.mark.peer
def test_promtool_evaluates_the_budget_rules_to_the_same_values(world: Any, tmp_path: Path) -> None:
    """promtool evaluates the budget groups at each instant (its evaluation interval is the
    instant itself, so it runs them at 0 and at the instant) over the source series and the
    5m base rates sloguard's SLI groups recorded, and must record what sloguard recorded."""
    if shutil.which("promtool") is None:
        pytest.skip("promtool not on PATH (scripts/install-peers installs it)")
    slos, traffic, st, _ = world
    # promtool's unit-test engine refuses queries over 10,000 samples; a month's 8,952 or a
    # quarter's 26,784 5m steps, each with the period start, plus the SLI's samples exceed it
    # (Prometheus' default is 50 million), so the occurrence SLOs here are the week and 2d ones
    slos = [s for s in slos if s.name in ("week", "rolling", "slices")]
    groups = [g for g in _rules(slos)["groups"] if g["name"].endswith("-budget")]
    (tmp_path / "budget.rules.yml").write_text(dump_yaml([{"groups": groups}]))
    engine = PromQLEngine(st)
    base = _series(engine.range_query('{__name__=~"slo:sli_(error|total):rate5m", slo=~"week|rolling"}', DATA_START + STEP, INSTANTS[-1], STEP).value)
    inputs = [_series_text(k, ts.astype(np.int64), vs) for k, (ts, vs) in traffic.items()]
    inputs += [_series_text(s.labels, s.timestamps, s.values) for s in base]
    records = [f'{r}{{slo=~"week|rolling|slices"}}' for r in sorted({r["record"] for g in groups for r in g["rules"]} - {"slo:info"})]
    files = []
    for t in INSTANTS[1:]:
        exprs = [{"expr": rec, "eval_time": f"{t // 1000}s", "exp_samples": [
            {"labels": str(s.labels), "value": s.v} for s in _samples(engine.instant_query(rec, t).value)]}
            for rec in records]
        assert all(e["exp_samples"] for e in exprs)
        files.append(f"budget-{t}.test.yml")
        (tmp_path / files[-1]).write_text(dump_yaml([{
            "rule_files": ["budget.rules.yml"], "evaluation_interval": f"{t // 1000}s",
            "group_eval_order": [g["name"] for g in groups],
            "tests": [{"interval": "5m", "input_series": inputs, "promql_expr_test": exprs}],
        }]))
    proc = subprocess.run(["promtool", "test", "rules", *files], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        _assert_only_float_noise(proc.stdout + proc.stderr)


def test_readers_take_quarters_and_refuse_unknown_time_zones() -> None:
    native = "apiVersion: sloguard/v1\nservice: s\nslos:\n  - {name: q, objective: 99, period: {calendar: quarter, timezone: %s}, sli: {ratio: {bad: 'a', total: 'b'}}}\n"
    (slo,), problems = load_text(native % "Asia/Tokyo", "q.yml")
    assert problems == [] and slo.period == Period(rolling_ms=None, calendar=CalendarUnit.QUARTER, timezone="Asia/Tokyo")
    assert slo.period.nominal_ms == 90 * 86_400_000
    _, problems = load_text(native % "Europe/Berln", "q.yml")
    assert [(p.path, "Europe/Berln" in p.message) for p in problems] == [("slos[0].period.timezone", True)]
    openslo = """apiVersion: openslo/v1
kind: SLO
metadata: {name: q}
spec:
  service: s
  indicator: {metadata: {name: i}, spec: {ratioMetric: {counter: true, good: {metricSource: {spec: {query: a}}}, total: {metricSource: {spec: {query: b}}}}}}
  timeWindow: [{duration: 1Q, isRolling: false, calendar: {startTime: "2020-01-01 00:00:00", timeZone: Europe/Rome}}]
  budgetingMethod: Occurrences
  objectives: [{target: 0.99}]
"""
    (slo,), problems = load_text(openslo, "q.yml")
    assert problems == [] and slo.period.calendar is CalendarUnit.QUARTER and slo.period.timezone == "Europe/Rome"
