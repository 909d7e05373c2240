"""Three hours of data shaped like the demo's, in a real TSDB, for evaluating dashboard queries.

* Raw demo series, as the bundled config scrapes them (``job="demo"``, ``service="demo"``):
  ``http_requests_total{code,route}`` for two routes, 600 requests a minute each, 0.2%
  errors; ``/search`` fails 20% of requests in the last 30 minutes (the page alert fires),
  and the latency histogram ``http_request_duration_seconds_bucket`` with 99.5% of
  requests within 250 ms.
* The SLO records and ``ALERTS``: the rules sloguard generates for the demo SLOs
  (``src/sloguard/examples/slos/demo.yml``), evaluated by sloguard's rule manager every
  minute (the budget groups every 5 minutes) over those three hours.
* The built-in proxy's RED series for ``checkout``, written by its own ``RedMetrics``
  every 15 s: v1 answers 30 requests per flush in 20 ms with no error, v2 15 requests
  in 300 ms with 3 server errors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sloguard.delivery.routers._proxy_metrics import RedMetrics
from sloguard.labels import Labels
from sloguard.promql.engine import PromQLEngine
from sloguard.rules import AlertingRule, Group, ManagerOptions, RuleManager, engine_query_func
from sloguard.slo import rulegen
from sloguard.slo._yaml import dump_yaml
from sloguard.slo.loader import load_files
from sloguard.slo.model import SLO
from sloguard.tsdb import TSDB, FsyncPolicy, TSDBOptions

M = 60_000
MINUTES = 180
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
END = T0 + MINUTES * M
PER_MINUTE = 600.0
BASE_ERRORS = 0.002
INCIDENT_ERRORS = 0.2
INCIDENT_MINUTES = 30
#: Share of demo requests at or under each bucket bound (``le``).
LATENCY_SHARES = {"0.05": 0.6, "0.1": 0.9, "0.25": 0.995, "0.5": 0.999, "1": 1.0, "2.5": 1.0, "+Inf": 1.0}
DEMO_SPEC = Path(__file__).parents[2] / "src" / "sloguard" / "examples" / "slos" / "demo.yml"
PROXY_SERVICE = "checkout"
FLUSH_MS = 15_000
#: version -> (requests per flush, server errors per flush, seconds per request)
VERSIONS = {"v1": (30, 0, 0.02), "v2": (15, 3, 0.3)}


def error_share(route: str, minute: np.ndarray) -> np.ndarray:
    """The share of requests failing in each minute ending at ``minute``."""
    incident = (route == "/search") & (minute > MINUTES - INCIDENT_MINUTES)
    return np.where(incident, INCIDENT_ERRORS, BASE_ERRORS)


@dataclass
class World:
    db: TSDB
    engine: PromQLEngine
    slos: list[SLO]


def _demo_arrays() -> list[tuple[Labels, np.ndarray]]:
    """Every demo series' cumulative value at each minute 0..MINUTES."""
    minutes = np.arange(0, MINUTES + 1)
    out = []
    for route in ("/checkout", "/search"):
        bad = np.cumsum(np.where(minutes > 0, PER_MINUTE * error_share(route, minutes), 0.0))
        total = np.where(minutes > 0, PER_MINUTE, 0.0).cumsum()
        common = {"job": "demo", "service": "demo", "route": route}
        for code, values in (("500", bad), ("200", total - bad)):
            out.append((Labels.from_dict({"__name__": "http_requests_total", "code": code, **common}), values))
        for le, share in LATENCY_SHARES.items():
            out.append((Labels.from_dict({"__name__": "http_request_duration_seconds_bucket", "le": le, **common}), total * share))
        out.append((Labels.from_dict({"__name__": "http_request_duration_seconds_count", **common}), total))
    return out


def _scrape(db: TSDB, demo: list[tuple[Labels, np.ndarray]], red: RedMetrics, minute: int) -> None:
    """What scrapes and the proxy write in the minute ending at ``minute``, as they would."""
    t = T0 + minute * M
    app = db.appender()
    for labels, values in demo:
        app.append(labels, t, float(values[minute]))
    app.commit()
    for flush in range(max(T0, t - M + FLUSH_MS), t + 1, FLUSH_MS):
        for version, (n, errors, seconds) in VERSIONS.items():
            for i in range(n):
                red.observe(version, 500 if i < errors else 200, seconds)
        red.flush(db, flush)


def _load_rules(engine: PromQLEngine, db: TSDB, slos: list[SLO], rules: Path) -> list[Group]:
    rules.write_text(dump_yaml([rulegen.generate(slos)]))
    manager = RuleManager(ManagerOptions(query=engine_query_func(engine), storage=db), use_threads=False)
    groups = list(manager.load_groups([str(rules)]).values())
    for g in groups:
        for r in g.rules:
            if isinstance(r, AlertingRule):
                r.restored = True  # as after a server's first evaluation: ALERTS is written
    return groups


def _evaluate(groups: list[Group], t: int) -> None:
    for g in groups:
        if (t - T0) % g.interval_ms == 0:
            g.eval(t)
            failed = [r.status.last_error for r in g.rules if r.status.last_error]
            if failed:
                raise RuntimeError(f"rule evaluation failed at {t}: {failed[0]}")


def build(path: Path, spec: Path = DEMO_SPEC, mutate: Callable[[list[SLO]], list[SLO]] = lambda s: s) -> World:
    slos, problems = load_files([spec])
    if any(p.is_error for p in problems):
        raise RuntimeError(f"demo spec problems: {problems}")
    db = TSDB.open(path / "data", TSDBOptions(fsync=FsyncPolicy.NEVER, retention_ms=0))
    engine = PromQLEngine(db)
    groups = _load_rules(engine, db, mutate(slos), path / "slo.rules.yml")
    demo, red = _demo_arrays(), RedMetrics(PROXY_SERVICE)
    for minute in range(MINUTES + 1):
        _scrape(db, demo, red, minute)
        _evaluate(groups, T0 + minute * M)
    return World(db, engine, slos)
