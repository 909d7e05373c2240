"""The demo service's counters only grow, and errors follow the configured share."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

import sloguard.examples
from sloguard.demo import DemoService
from sloguard.labels import Labels
from sloguard.promql import Series
from sloguard.promql.engine import PromQLEngine
from sloguard.rules import AlertingRule, AlertState, ManagerOptions, RuleManager, engine_query_func
from sloguard.slo import budget, rulegen
from sloguard.slo._yaml import dump_yaml
from sloguard.slo.budget import BudgetStatus
from sloguard.slo.loader import load_files
from sloguard.slo.model import SLO
from sloguard.tsdb.testing import MemoryStorage


class _Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def _values(svc: DemoService) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in text_string_to_metric_families(svc.exposition())
        for s in f.samples
    }


def test_counters_are_monotonic_over_simulated_time() -> None:
    clock = _Clock()
    svc = DemoService(clock)
    prev = _values(svc)
    for _ in range(40):
        clock.t += 37.0
        cur = _values(svc)
        for key, v in cur.items():
            if key[0].endswith(("_total", "_bucket", "_count", "_sum")):
                assert v >= prev[key], key
        prev = cur


def test_request_rate_matches_route_definition() -> None:
    clock = _Clock()
    svc = DemoService(clock)
    clock.t += 100.0
    v = _values(svc)
    ok = v[("http_requests_total", (("code", "200"), ("route", "/api/catalog")))]
    err = v[("http_requests_total", (("code", "500"), ("route", "/api/catalog")))]
    assert ok + err == 3000  # 30 rps for 100 s
    assert v[("http_request_duration_seconds_count", (("route", "/api/catalog"),))] == 3000


# --- the bundled demo SLOs stay healthy on the demo's own traffic -------------------------

M = 60_000
DEMO_SLOS = Path(sloguard.examples.__file__).parent / "slos" / "demo.yml"
TARGET = {"job": "demo", "instance": "127.0.0.1:9090", "service": "demo"}


def _scrape(svc: DemoService, app: Any, t_ms: int) -> None:
    """What a scrape of ``/demo/metrics`` at ``t_ms`` stores (the target's labels added)."""
    for fam in text_string_to_metric_families(svc.exposition()):
        for s in fam.samples:
            app.append(Labels.of(name__=s.name, **s.labels, **TARGET), t_ms, float(s.value))


def _replay(tmp_path: Path, minutes: int) -> tuple[list[SLO], PromQLEngine, list[tuple[int, str]]]:
    """Scrape the demo every 30 s and evaluate its SLO rules every 2 minutes, on a fake clock;
    returns the SLOs, an engine over the stored data, and every (time, alert) that fired."""
    slos, problems = load_files([DEMO_SLOS])
    assert problems == []
    rules = tmp_path / "demo.rules.yml"
    rules.write_text(dump_yaml([rulegen.generate(slos, 2 * M)]))
    st = MemoryStorage()
    engine = PromQLEngine(st)
    manager = RuleManager(ManagerOptions(query=engine_query_func(engine), storage=st), use_threads=False)
    groups = list(manager.load_groups([str(rules)]).values())
    clock = _Clock()
    t0 = int(clock.t * 1000)
    svc = DemoService(clock)
    fired: list[tuple[int, str]] = []
    for k in range(1, 2 * minutes + 1):
        clock.t += 30.0
        t = t0 + k * 30_000
        app = st.appender()
        _scrape(svc, app, t)
        app.commit()
        if k % 4 == 0:
            for g in groups:
                if (t - t0) % g.interval_ms == 0:
                    g.eval(t)
                    assert not [r.status.last_error for r in g.rules if r.status.last_error]
                    fired += [(t, f"{r.name}/{r.labels.get('tier')}") for r in g.rules
                              if isinstance(r, AlertingRule) and any(a.state is AlertState.FIRING for a in r.active_alerts())]
    return slos, engine, fired


def test_demo_slos_stay_healthy_with_some_errors(tmp_path: Path) -> None:
    slos, engine, fired = _replay(tmp_path, 90)
    assert fired == []  # no page, no ticket over 90 minutes (nine waves)
    end = int((_Clock().t + 90 * 60) * 1000)
    for at in (end - 86 * M, end - 60 * M, end):  # from 4 minutes in (the old demo was exhausted by then)
        for slo in slos:
            for b in budget.compute(engine, slo, at):
                assert b.status is BudgetStatus.OK, (slo.name, b.labels, b.message)
                assert b.budget_remaining_ratio is not None and b.budget_remaining_ratio > 0.3, (slo.name, b.labels)
                burn = next(w.burn_rate for w in b.burn_rates if w.window == "1h")
                assert burn is not None and burn < 1, (slo.name, b.labels, burn)
    # interesting, not flat: the checkout route does fail, and its burn moves with the wave
    (avail,) = [s for s in slos if s.name == "demo-availability"]
    checkout = [b for b in budget.compute(engine, avail, end) if b.labels.get("route") == "/api/checkout"]
    assert checkout and checkout[0].bad_events and checkout[0].bad_events > 0
    ratio = 'slo:sli_error:ratio_rate5m{slo="demo-availability", route="/api/checkout"}'
    (series,) = engine.range_query(ratio, end - 20 * M, end, M).value  # type: ignore[misc]
    assert isinstance(series, Series)
    burn5m = series.values / avail.error_budget
    assert burn5m.max() < 1 and burn5m.max() - burn5m.min() > 0.2
