"""Differential: the rules sloguard generates from a Sloth spec, evaluated in ruler mode
against a real backend (reads through ``RemoteEngine``, outputs written back by remote
write and read back from the backend) and in embedded mode over the same input, record the
same values at the same timestamps (to 1e-9).

Prometheus runs PromQL itself, so any traffic shape must agree. VictoriaMetrics runs
MetricsQL, whose ``rate`` takes the sample before the window instead of extrapolating: there
the input is linear counters from zero sharing their sample times, where both ``rate``s give
the same ratios (with the wobbling traffic they differ by about 1%, which is MetricsQL's
semantics, not the ruler's). The budget group is left out there: its period counts, a
``[30d:5m]`` subquery filtered by ``timestamp(...) > scalar(... @ end())``, come out
differently in MetricsQL (seen: 66 against PromQL's 231 at one evaluation).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from sloguard.ingest.remote_write import encode_write_request
from sloguard.labels import Labels, Matcher, MatchType
from sloguard.promql.engine import PromQLEngine
from sloguard.remote import QueryBackend, RemoteEngine
from sloguard.remote._querier import RemoteQuerier
from sloguard.remote._ruler import RuleQuery, RulerStorage
from sloguard.rules import ManagerOptions, RuleManager, engine_query_func
from sloguard.slo import rulegen
from sloguard.slo._yaml import dump_yaml
from sloguard.slo.loader import load_text
from sloguard.tsdb import TSDB, FsyncPolicy, TSDBOptions
from tests.remote._peers import Peer, prometheus, victoria_metrics
from tests.remote._writeback import ruler_local

pytestmark = [pytest.mark.peer, pytest.mark.slow]

M = 60_000
SLOTH = """
version: "prometheus/v1"
service: "checkout"
labels: {owner: "payments"}
slos:
  - name: "requests-availability"
    objective: 99.5
    sli:
      events:
        error_query: sum(rate(http_requests_total{code=~"(5..|429)"}[{{.window}}]))
        total_query: sum(rate(http_requests_total[{{.window}}]))
    alerting:
      name: CheckoutErrors
      page_alert: {labels: {severity: page}}
      ticket_alert: {labels: {severity: ticket}}
"""
Traffic = list[tuple[Labels, np.ndarray, np.ndarray]]


def _end_ms() -> int:
    """A minute boundary just past; the input and the evaluations end there (the backends
    take remote-written samples only near now)."""
    return (int(time.time() * 1000) // M) * M - M


def _times(end: int) -> np.ndarray:
    return np.arange(end - 40 * M + 7_000, end + 1, 15_000, dtype=np.int64)  # off the evaluation grid


def varying_traffic(end: int) -> Traffic:
    """An outage of 5xx from minute 15 to 20 of the 40, 429s throughout, a rate that wobbles."""
    t = _times(end)
    minute = (t - t[0]) / M
    rps = 20 + 5 * np.sin(minute / 3)
    frac_5xx = np.where((minute > 15) & (minute <= 20), 0.3, 0.002)
    per = rps * 15
    out = []
    for code, frac in (("200", 1 - frac_5xx - 0.01), ("500", frac_5xx), ("429", np.full(len(t), 0.01))):
        out.append((Labels.of(__name__="http_requests_total", code=code, job="checkout"), t, np.cumsum(per * frac)))
    return out


def linear_traffic(end: int) -> Traffic:
    """Counters from 0 at the same first sample: PromQL's extrapolation then scales every
    series' rate by the same factor (also where a window reaches before the data), MetricsQL
    gives the slope itself, and both give the same ratios."""
    t = _times(end)
    secs = (t - t[0]) / 1000
    return [(Labels.of(__name__="http_requests_total", code=code, job="checkout"), t, rate * secs)
            for code, rate in (("200", 19.0), ("500", 0.4), ("429", 0.15))]


def _groups(rules: Path, opts: ManagerOptions) -> list:  # type: ignore[type-arg]
    return list(RuleManager(opts, use_threads=False).load_groups([str(rules)]).values())


def _eval(groups: list, ticks: range, which: Callable[[str], bool]) -> None:  # type: ignore[type-arg]
    for ts in ticks:
        for g in groups:
            if which(g.name) and (ts - ticks.start) % g.interval_ms == 0:
                g.eval(ts)
                errors = [f"{r.name}: {r.status.last_error}" for r in g.rules if r.status.last_error]
                assert not errors, f"rule evaluation failed at {ts}: {errors[0]}"


def _names(groups: list) -> list[str]:  # type: ignore[type-arg]
    return sorted({r.name for g in groups for r in g.rules if not hasattr(r, "active")})


def _read(querier: object, name: str, ticks: range) -> dict[Labels, list[tuple[int, float]]]:
    batch = querier.select([Matcher(MatchType.EQUAL, "__name__", name)], ticks.start, ticks.stop)  # type: ignore[attr-defined]
    out = {}
    for i in range(len(batch)):
        ls, ts, vs = batch.series(i)
        out[ls] = [(int(t), float(v)) for t, v in zip(ts, vs, strict=True)]
    return out


def _same(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def _compare(embedded: TSDB, engine: RemoteEngine, names: list[str], ticks: range) -> tuple[int, int]:
    n_series = n_samples = 0
    for name in names:
        want, got = _read(embedded.querier(), name, ticks), _read(RemoteQuerier(engine), name, ticks)
        assert want, f"{name}: the embedded rules recorded nothing"
        assert sorted(map(str, got)) == sorted(map(str, want)), f"{name}: different series"
        for ls, points in want.items():
            other = got[ls]
            assert [t for t, _ in other] == [t for t, _ in points], f"{ls}: different timestamps"
            bad = [(t, a, b) for (t, a), (_, b) in zip(points, other, strict=True) if not _same(a, b)]
            assert not bad, f"{ls}: values differ at {bad[:3]}"
            n_series, n_samples = n_series + 1, n_samples + len(points)
    return n_series, n_samples


async def _ruler(peer: Peer, tmp: Path, rules: Path, engine: RemoteEngine, ticks: range,
                 which: Callable[[str], bool]) -> None:
    """Ruler mode: reads through ``engine``, outputs to a local WAL sent by the remote-write queue."""
    local, queues, sync = await ruler_local(peer, tmp / "ruler")
    try:
        storage = RulerStorage(local, engine)
        groups = _groups(rules, ManagerOptions(query=RuleQuery(engine, storage, sync), storage=storage))
        await asyncio.to_thread(_eval, groups, ticks, which)
        assert await asyncio.to_thread(sync.sync, 20.0), "the remote-write queue did not deliver the outputs"
        assert sync.syncs > 1  # rules read earlier rules' outputs: the write-back was waited for
    finally:
        await queues.stop()
        local.close()


def run_differential(peer: Peer, tmp: Path, traffic: Traffic, ticks: range,
                     which: Callable[[str], bool] = lambda _: True) -> tuple[int, int]:
    """Evaluate both ways; return (series compared, samples compared)."""
    slos, problems = load_text(SLOTH, "checkout.sloth.yml")
    assert slos and not [p for p in problems if p.is_error]
    rules = tmp / "slo.rules.yml"
    rules.write_text(dump_yaml([rulegen.generate(slos, M)]))
    embedded = TSDB.open(tmp / "embedded", TSDBOptions(fsync=FsyncPolicy.NEVER, retention_ms=0))
    app = embedded.appender()
    for ls, ts, vs in traffic:
        app.append_many(ls, ts, vs)
    app.commit()
    peer.write(encode_write_request(traffic))
    peer.flush()
    embedded_groups = _groups(rules, ManagerOptions(query=engine_query_func(PromQLEngine(embedded)), storage=embedded))
    _eval(embedded_groups, ticks, which)
    engine = RemoteEngine(QueryBackend(url=peer.url, timeout_s=30, retries=1))
    try:
        asyncio.run(_ruler(peer, tmp, rules, engine, ticks, which))
        return _compare(embedded, engine, _names([g for g in embedded_groups if which(g.name)]), ticks)
    finally:
        embedded.close()
        engine.close()


def test_prometheus_ruler_records_what_the_embedded_engine_records(tmp_path: Path) -> None:
    end = _end_ms()
    with prometheus(tmp_path / "prom") as peer:
        series, samples = run_differential(peer, tmp_path, varying_traffic(end), range(end - 30 * M, end + 1, M))
    assert series >= 15 and samples >= 200


def test_victoria_metrics_ruler_records_what_the_embedded_engine_records(tmp_path: Path) -> None:
    end = _end_ms()
    with victoria_metrics(tmp_path / "vm") as peer:
        series, samples = run_differential(peer, tmp_path, linear_traffic(end), range(end - 30 * M, end + 1, M),
                                           lambda group: not group.endswith("-budget"))
    assert series >= 8 and samples >= 200
