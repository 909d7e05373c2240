"""Sloth's Grafana dashboards and Sloth's own UI read the rules of ``--compat sloth``.

The rules generated for a Sloth spec are evaluated by sloguard's rule engine on synthetic
request counters (an hour at 0.05% errors, then an hour at 2%), then every query of:

* Grafana dashboard 14348 "SLO / Detail" (gnetId 14348, as published on grafana.com and
  copied verbatim into public repositories; its template variables substituted as Grafana
  would: ``${service}``, ``${slo}``, ``${sli_window}`` over all its options,
  ``${min_burning_rate}`` = 1, ``${__to:date:M}`` = the month of the end time);
* Sloth's own UI backend (``internal/http/backend/storage/prometheus`` of slok/sloth at the
  commit the conformance data comes from), which queries the same series;
* Grafana dashboard 14643 "High level Sloth SLOs": its JSON was not reachable from here, so
  its queries are reconstructed from Sloth's docs (a burn-rate timeline of
  ``slo:current_burn_rate:ratio`` per SLO, the 30-day budget remaining
  ``slo:period_error_budget_remaining:ratio``, the SLO list from ``sloth_slo_info`` and the
  firing alerts by ``sloth_severity``);

must return data, with the values computed here by hand from the counters. The same rules
then go through ``promtool test rules`` with the same hand-computed expectations.
"""

from __future__ import annotations

import calendar
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from sloguard.labels import Labels
from sloguard.promql._value import Series
from sloguard.promql.engine import PromQLEngine
from sloguard.rules import ManagerOptions, RuleManager, engine_query_func
from sloguard.slo._yaml import dump_yaml
from sloguard.slo.compat import SLOTH_VERSION, RuleOptions, emit_sloth
from sloguard.tsdb import TSDB, FsyncPolicy, TSDBOptions

M = 60_000
MINUTES = 120
T0 = int(datetime(2026, 1, 15, tzinfo=UTC).timestamp() * 1000)
SPEC = """
version: prometheus/v1
service: checkout
labels: {team: payments}
slos:
  - name: availability
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(requests_total{job="api",code=~"5.."}[{{.window}}]))
        total_query: sum(rate(requests_total{job="api"}[{{.window}}]))
    alerting:
      name: CheckoutAvailability
      page_alert: {labels: {route: pager}}
      ticket_alert: {labels: {route: tickets}}
"""
BUDGET = (100 - 99.9) / 100  # as Sloth computes it: 0.0009999999999999432
WINDOWS = {"5m": 5 * M, "30m": 30 * M, "1h": 60 * M, "2h": 120 * M, "6h": 360 * M, "1d": 1440 * M, "3d": 4320 * M}
VARS = {"${service}": "checkout", "${slo}": "availability", "${min_burning_rate}": "1"}


@dataclass(frozen=True)
class Traffic:
    """Per-minute counters from minute 0 to ``MINUTES``; large starting values keep Prometheus'
    zero-point clamp out of ``rate`` so the error ratio over a window is exactly Δbad / Δtotal."""

    good: np.ndarray
    bad: np.ndarray

    @classmethod
    def make(cls) -> Traffic:
        minute = np.arange(MINUTES + 1)
        frac = np.where(minute <= 60, 0.0005, 0.02)
        return cls(1e6 + np.cumsum(600 * (1 - frac)), 1e3 + np.cumsum(600 * frac))

    def ratio(self, i: int, window_ms: int) -> float | None:
        """The error ratio over ``[t - window, t]`` at minute ``i``, as ``rate`` sees it (Prometheus 2's
        range selectors include a sample exactly at the window's start)."""
        first = max(0, i - window_ms // M)
        if i - first < 1:
            return None
        d_bad = self.bad[i] - self.bad[first]
        return float(d_bad / (self.good[i] - self.good[first] + d_bad))

    def r(self, i: int, window_ms: int) -> float:
        """``ratio`` where the window holds two samples at least."""
        got = self.ratio(i, window_ms)
        if got is None:
            raise ValueError(f"no ratio at minute {i} over {window_ms} ms")
        return got

    def period_ratio(self, i: int) -> float:
        """Sloth's 30d ratio: the mean of every recorded 5m ratio up to minute ``i``."""
        ratios = [r for j in range(i + 1) if (r := self.ratio(j, 5 * M)) is not None]
        return sum(ratios) / len(ratios)


@pytest.fixture(scope="module")
def traffic() -> Traffic:
    return Traffic.make()


@pytest.fixture(scope="module")
def rules_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("sloth-dash")
    (d / "slo.yml").write_text(SPEC)
    out = d / "sloth.rules.yml"
    out.write_text(emit_sloth([d / "slo.yml"], RuleOptions()))
    return out


@pytest.fixture(scope="module")
def query(rules_file: Path, traffic: Traffic, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PromQLEngine]:
    """The rules evaluated every minute (groups in file order) while the counters are ingested."""
    db = TSDB.open(tmp_path_factory.mktemp("db"), TSDBOptions(fsync=FsyncPolicy.NEVER, retention_ms=0))
    engine = PromQLEngine(db)
    manager = RuleManager(ManagerOptions(query=engine_query_func(engine), storage=db))
    groups = list(manager.load_groups([str(rules_file)], M).values())
    order = ["sloth-slo-sli-recordings-", "sloth-slo-meta-recordings-", "sloth-slo-alerts-"]
    groups.sort(key=lambda g: next(i for i, p in enumerate(order) if g.name.startswith(p)))
    for g in groups:
        for r in g.alerting_rules():
            r.restored = True
    for i in range(MINUTES + 1):
        ts = T0 + i * M
        app = db.appender()
        app.append(Labels.of(name__="requests_total", job="api", code="200"), ts, float(traffic.good[i]))
        app.append(Labels.of(name__="requests_total", job="api", code="500"), ts, float(traffic.bad[i]))
        assert app.commit().rejected_total == 0
        for g in groups:
            g.eval(ts)
            errors = [r.status.last_error for r in g.rules if r.status.last_error]
            assert not errors, errors
    yield engine
    db.close()


def _values(engine: PromQLEngine, expr: str, t: int = T0 + MINUTES * M) -> list[tuple[dict[str, str], float]]:
    for k, v in VARS.items():
        expr = expr.replace(k, v)
    assert "${" not in expr, expr
    return [(dict(s.labels), float(s.v)) for s in engine_query_func(engine)(expr, t)]


def _series(engine: PromQLEngine, expr: str, start: int, step: int) -> list[Series]:
    value = engine.range_query(expr, start, T0 + MINUTES * M, step).value
    assert isinstance(value, list) and all(isinstance(x, Series) for x in value), value
    return [x for x in value if isinstance(x, Series)]


def _one(engine: PromQLEngine, expr: str) -> float:
    got = _values(engine, expr)
    assert len(got) == 1, (expr, got)
    return got[0][1]


# Grafana 14348 "SLO / Detail": every panel's query, as published.
SLI_PANEL = '1 - (max(slo:sli_error:ratio_rate${sli_window}{sloth_service="${service}", sloth_slo="${slo}"}) OR on() vector(0))'
MONTH_BUDGET = """1-(
  sum_over_time(
    (
       slo:sli_error:ratio_rate1h{sloth_service="${service}",sloth_slo="${slo}"}
       * on() group_left() (
         month() == bool vector(${__to:date:M})
       )
    )[32d:1h]
  )
  / on(sloth_id)
  (
    slo:error_budget:ratio{sloth_service="${service}",sloth_slo="${slo}"} *on() group_left() (24 * days_in_month())
  )
)"""


def test_detail_dashboard_sli_panel_has_every_window(query: PromQLEngine, traffic: Traffic) -> None:
    end = MINUTES
    for name, ms in WINDOWS.items():
        want = traffic.r(end, ms)
        assert want is not None
        assert _one(query, SLI_PANEL.replace("${sli_window}", name)) == pytest.approx(1 - want, rel=1e-12, abs=1e-15)
    period = _one(query, SLI_PANEL.replace("${sli_window}", "30d"))
    assert period == pytest.approx(1 - traffic.period_ratio(end), rel=1e-12)


def test_detail_dashboard_stats_objective_burn_budget_and_alerts(query: PromQLEngine, traffic: Traffic) -> None:
    f = 'sloth_service="${service}", sloth_slo="${slo}"'
    burn = traffic.r(MINUTES, 5 * M) / BUDGET
    assert _one(query, f"slo:objective:ratio{{{f}}}") == 0.9990000000000001
    assert _one(query, f"slo:current_burn_rate:ratio{{{f}}} or on() vector(0)") == pytest.approx(burn, rel=1e-12)
    assert _one(query, f"slo:current_burn_rate:ratio{{{f}}} > 0") == pytest.approx(burn, rel=1e-12)
    remaining = 1 - traffic.period_ratio(MINUTES) / BUDGET
    assert _one(query, f"slo:period_error_budget_remaining:ratio{{{f}}} or on() vector(1)") == pytest.approx(remaining, rel=1e-12)
    assert _one(query, f'max(ALERTS{{{f}, sloth_severity="ticket"}}) OR on() vector(0)') == 1
    assert _one(query, f'max(ALERTS{{{f}, sloth_severity="page"}}) or on() vector(0)') == 1
    month = str(datetime.fromtimestamp((T0 + MINUTES * M) / 1000, UTC).month)
    hourly = [traffic.r(i, 60 * M) for i in (60, 120)]  # whole hours with a 1h ratio recorded
    days = calendar.monthrange(2026, 1)[1]
    want = 1 - sum(hourly) / (BUDGET * 24 * days)
    assert _one(query, MONTH_BUDGET.replace("${__to:date:M}", month)) == pytest.approx(want, rel=1e-12)


def test_detail_dashboard_general_row_and_variables(query: PromQLEngine, traffic: Traffic) -> None:
    burning = _values(query, "slo:current_burn_rate:ratio > ${min_burning_rate}")
    assert [(labels["sloth_service"], labels["sloth_slo"]) for labels, _ in burning] == [("checkout", "availability")]
    assert burning[0][1] == pytest.approx(traffic.r(MINUTES, 5 * M) / BUDGET, rel=1e-12)
    services = {labels["sloth_service"] for labels, _ in _values(query, "slo:objective:ratio")}
    slos = {labels["sloth_slo"] for labels, _ in _values(query, 'slo:objective:ratio{sloth_service="${service}"}')}
    assert (services, slos) == ({"checkout"}, {"availability"})


def test_detail_dashboard_timeseries_panels_have_points_over_the_range(query: PromQLEngine, traffic: Traffic) -> None:
    f = 'sloth_service="checkout", sloth_slo="availability"'
    panel = SLI_PANEL.replace("${sli_window}", "5m").replace("${service}", "checkout").replace("${slo}", "availability")
    (series,) = _series(query, panel, T0 + 5 * M, 5 * M)
    assert len(series.values) == MINUTES // 5
    assert series.values[-1] == pytest.approx(1 - traffic.r(MINUTES, 5 * M), rel=1e-12)
    (burn,) = _series(query, f"slo:current_burn_rate:ratio{{{f}}} > 0", T0 + M, M)
    assert len(burn.values) == MINUTES


def test_sloth_ui_backend_queries(query: PromQLEngine, traffic: Traffic) -> None:
    (info,) = _values(query, 'sloth_slo_info{sloth_id!=""}')
    assert {k: info[0][k] for k in ("sloth_id", "sloth_objective", "sloth_spec", "sloth_mode", "sloth_version", "team")} == {
        "sloth_id": "checkout-availability", "sloth_objective": "99.9", "sloth_spec": "prometheus/v1",
        "sloth_mode": "cli-gen-prom", "sloth_version": SLOTH_VERSION, "team": "payments"}
    windows = _values(query, 'count({__name__=~"^slo:sli_error:ratio_rate.*"}) by (__name__, sloth_id)')
    assert sorted(labels["__name__"].removeprefix("slo:sli_error:ratio_rate") for labels, _ in windows) == sorted([*WINDOWS, "30d"])
    assert _one(query, 'max(slo:time_period:days{sloth_id!=""}) by (sloth_id)') == 30
    assert _one(query, 'slo:current_burn_rate:ratio{sloth_id!=""}') == pytest.approx(traffic.r(MINUTES, 5 * M) / BUDGET, rel=1e-12)
    alerts = _values(query, 'ALERTS{sloth_id!=""}')
    assert sorted((a["alertname"], a["sloth_severity"], a["route"], a["alertstate"]) for a, _ in alerts) == [
        ("CheckoutAvailability", "page", "pager", "firing"), ("CheckoutAvailability", "ticket", "tickets", "firing")]
    assert _one(query, 'slo:period_error_budget_remaining:ratio{sloth_id!=""}') == pytest.approx(
        1 - traffic.period_ratio(MINUTES) / BUDGET, rel=1e-12)
    assert _one(query, '1 - (max(slo:sli_error:ratio_rate5m{sloth_id="checkout-availability"}))') == pytest.approx(
        1 - traffic.r(MINUTES, 5 * M), rel=1e-12)


def test_high_level_dashboard_queries(query: PromQLEngine, traffic: Traffic) -> None:
    (timeline,) = _series(query, "slo:current_burn_rate:ratio", T0 + M, M)
    assert len(timeline.values) == MINUTES
    assert timeline.values[0] == pytest.approx(traffic.r(1, 5 * M) / BUDGET, rel=1e-12)
    assert _one(query, "slo:period_error_budget_remaining:ratio") == pytest.approx(1 - traffic.period_ratio(MINUTES) / BUDGET, rel=1e-12)
    assert _one(query, "count(sloth_slo_info)") == 1
    assert _one(query, 'count(ALERTS{alertstate="firing", sloth_severity="page"})') == 1


def test_sloth_compat_rules_give_the_same_values_in_promtool(rules_file: Path, traffic: Traffic, tmp_path: Path) -> None:
    if shutil.which("promtool") is None:
        pytest.skip("promtool not on PATH (scripts/install-peers installs it)")
    ids = 'sloth_id="checkout-availability", sloth_service="checkout", sloth_slo="availability"'
    exprs = []
    for i in (30, 61, 90, MINUTES):
        for name, ms in WINDOWS.items():
            exprs.append((f"slo:sli_error:ratio_rate{name}", name, i, traffic.r(i, ms)))
        exprs.append(("slo:sli_error:ratio_rate30d", "30d", i, traffic.period_ratio(i)))
        exprs.append(("slo:current_burn_rate:ratio", "5m", i, traffic.r(i, 5 * M) / BUDGET))
        exprs.append(("slo:period_error_budget_remaining:ratio", "30d", i, 1 - traffic.period_ratio(i) / BUDGET))
    tests = [{"expr": f"{rec}{{{ids}}}", "eval_time": f"{i}m", "exp_samples": [
        {"labels": f'{rec}{{{ids}, sloth_window="{w}", team="payments"}}', "value": v}]} for rec, w, i, v in exprs]
    alert = {"alertname": "CheckoutAvailability", "eval_time": f"{MINUTES}m", "exp_alerts": [
        {"exp_labels": {"sloth_id": "checkout-availability", "sloth_service": "checkout", "sloth_slo": "availability",
                        "team": "payments", "sloth_severity": sev, "route": route},
         "exp_annotations": {"title": f"({sev}) checkout availability SLO error budget burn rate is too fast.",
                             "summary": "checkout availability SLO error budget burn rate is over expected."}}
        for sev, route in (("page", "pager"), ("ticket", "tickets"))]}
    quiet = {"alertname": "CheckoutAvailability", "eval_time": "30m", "exp_alerts": []}
    (tmp_path / "sloth.rules.yml").write_text(rules_file.read_text())
    (tmp_path / "test.yml").write_text(dump_yaml([{
        "rule_files": ["sloth.rules.yml"], "evaluation_interval": "1m",
        "group_eval_order": ["sloth-slo-sli-recordings-checkout-availability", "sloth-slo-meta-recordings-checkout-availability",
                             "sloth-slo-alerts-checkout-availability"],
        "tests": [{"interval": "1m", "input_series": [
            {"series": 'requests_total{job="api",code="200"}', "values": " ".join(repr(float(v)) for v in traffic.good)},
            {"series": 'requests_total{job="api",code="500"}', "values": " ".join(repr(float(v)) for v in traffic.bad)},
        ], "promql_expr_test": tests, "alert_rule_test": [quiet, alert]}],
    }]))
    proc = subprocess.run(["promtool", "test", "rules", "test.yml"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0 or _only_float_noise(out), out[:4000]


_SAMPLE = re.compile(r"(\{[^}]*\}) (-?[\d.]+(?:E[+-]\d+)?|NaN|[+-]Inf)")


def _only_float_noise(out: str) -> bool:
    """promtool compares floats exactly; the expectations here are computed by hand, so
    accept differences below 1e-9 relative and nothing else (no alert difference at all)."""
    blocks = out.split("expr: ")[1:]
    if not blocks or "alertname:" in out:
        return False
    for block in blocks:
        exp = _SAMPLE.findall(block.split("exp:", 1)[1].split("got:", 1)[0])
        got = _SAMPLE.findall(block.split("got:", 1)[1])
        if [e[0] for e in exp] != [g[0] for g in got] or not exp:
            return False
        for (_, ev), (_, gv) in zip(exp, got, strict=True):
            if abs(float(ev) - float(gv)) > 1e-9 * max(abs(float(ev)), abs(float(gv))):
                return False
    return True

