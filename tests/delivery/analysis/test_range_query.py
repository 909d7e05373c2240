"""Argo's ``rangeQuery`` (start/end time expressions and a step): the documentation's
template read unchanged, run on the embedded engine, sent to a remote Prometheus API as
``query_range``; bad times and windows named with their key path."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from sloguard.delivery.analysis import MeasurementPhase, measure
from sloguard.delivery.analysis._time_expr import RangeQuery, TimeExpr
from sloguard.delivery.analysis.condition import ConditionError
from sloguard.delivery.analysis.providers import (
    PrometheusConfig,
    PrometheusProvider,
    PromQLConfig,
    PromQLProvider,
    ProviderEnv,
    ProviderError,
    engine_query,
)
from sloguard.delivery.analysis.template import (
    TemplateError,
    instantiate,
    load_template_file,
    load_templates,
)
from sloguard.labels import Labels
from sloguard.promql.engine import PromQLEngine
from sloguard.tsdb import TSDB, FsyncPolicy, TSDBOptions
from tests.delivery.analysis._servers import Answer, Seen, serve

DATA = Path(__file__).parent / "data"
M = 60_000
T0 = 1_700_000_000_000 // M * M


@pytest.mark.parametrize(("text", "want"), [
    ('now() - duration("5m")', T0 - 5 * M),
    ("now()", T0),
    ('now() + duration("1h30m") - duration("90m")', T0),
    ('duration("1.5h") + now()', T0 + 90 * M),
    ('now() - (now() - now() + duration("2m"))', T0 - 2 * M),
    ('date("2024-05-01T10:00:00Z") + duration("30s")', 1_714_557_630_000),
    ('date("2024-05-01")', 1_714_521_600_000),
])
def test_time_expressions_give_times_relative_to_now(text: str, want: int) -> None:
    assert TimeExpr.compile(text).evaluate(T0) == want


@pytest.mark.parametrize(("text", "words"), [
    ("now() + 5", "time.Time + int"),
    ('duration("5m")', "expected a time, but the expression gives time.Duration"),
    ('now() - duration("5x")', 'time: invalid duration "5x"'),
    ("result[0]", "not supported here"),
    ("now(1)", "now() takes 0 argument(s)"),
    ('len("abc")', "len() is not supported here"),
    ('date("yesterday")', "not an RFC 3339 time"),
    ("now(", "col"),
])
def test_bad_time_expressions_are_refused_in_words(text: str, words: str) -> None:
    with pytest.raises(ConditionError) as e:
        TimeExpr.compile(text)
    assert words in str(e.value)


def test_the_window_refuses_reversed_ranges_and_too_many_points() -> None:
    rq = RangeQuery(TimeExpr.compile("now()"), TimeExpr.compile('now() - duration("1m")'), 15_000)
    with pytest.raises(ValueError, match="end .* is before start"):
        rq.window(T0)
    big = RangeQuery(TimeExpr.compile('now() - duration("24h")'), TimeExpr.compile("now()"), 1_000)
    with pytest.raises(ValueError, match="86401 points per series .* exceeds the maximum of 11000"):
        big.window(T0)
    ok = RangeQuery(TimeExpr.compile('now() - duration("5m")'), TimeExpr.compile("now()"), M)
    assert ok.window(T0) == (T0 - 5 * M, T0, M)


def test_the_documentation_template_reads_unchanged() -> None:
    (t,), problems = load_template_file(DATA / "argo-range-query.yaml")
    assert problems == []
    (m,) = instantiate(t, {"service-name": "checkout"})
    assert isinstance(m.provider, PrometheusConfig) and m.provider.range is not None
    assert m.provider.query == 'http_latency_ms{service="checkout"}'
    assert m.provider.range.window(T0) == (T0 - 5 * M, T0, M)
    (m,) = instantiate(t, {"service-name": "checkout", "lookback-duration": "10m"}, embedded_prometheus=True)
    assert isinstance(m.provider, PromQLConfig) and m.provider.range is not None
    assert m.provider.range.window(T0) == (T0 - 10 * M, T0, M)


@pytest.mark.parametrize(("range_yaml", "path", "words"), [
    ("{start: 'now() - duration(\"5m\")', end: 'now()'}", "rangeQuery.step", "is required"),
    ("{start: 'now() -', end: 'now()', step: 1m}", "rangeQuery.start", "col"),
    ("{start: 'now()', end: 'now() + 1', step: 1m}", "rangeQuery.end", "time.Time + int"),
    ("{start: 'now()', end: 'now()', step: 0s}", "rangeQuery.step", "must be more than 0"),
    ("{start: 'now()', end: 'now()', step: soon}", "rangeQuery.step", "is not a duration"),
    ("{end: 'now()', step: 1m}", "rangeQuery.start", "is required"),
    ("{start: 'now()', end: 'now()', step: 1m, every: 2}", "rangeQuery.every", "is not a field"),
    ("[now]", "rangeQuery", "must be a mapping"),
])
def test_range_problems_name_their_key_path(range_yaml: str, path: str, words: str) -> None:
    text = f"""
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {{name: t}}
spec:
  metrics:
  - name: latency
    successCondition: "all(result, # < 1000)"
    provider:
      prometheus:
        query: up
        rangeQuery: {range_yaml}
"""
    templates, problems = load_templates(text, "t.yaml")
    found = [p for t in templates for p in _problems(t)] + problems
    assert any(p.path == f"spec.metrics[0].provider.prometheus.{path}" and words in p.message for p in found), found


def _problems(t: object) -> list:  # type: ignore[type-arg]
    try:
        instantiate(t, {}, embedded_prometheus=True)  # type: ignore[arg-type]
    except TemplateError as e:
        return list(e.problems)
    return []


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[PromQLEngine]:
    db = TSDB.open(tmp_path / "data", TSDBOptions(fsync=FsyncPolicy.NEVER, retention_ms=0))
    ts = np.arange(T0 - 30 * M, T0 + 1, 15_000, dtype=np.int64)
    app = db.appender()
    app.append_many(Labels.of(name__="http_latency_ms", service="checkout", pod="a"), ts, 300 + (ts - T0) / M)
    app.append_many(Labels.of(name__="http_latency_ms", service="checkout", pod="b"),
                    ts, np.where(ts == T0 - 3 * M, 1500.0, 400.0))  # one slow minute, 3 minutes ago
    app.commit()
    try:
        yield PromQLEngine(db)
    finally:
        db.close()


def test_a_range_query_runs_on_the_embedded_engine(engine: PromQLEngine) -> None:
    (t,), _ = load_template_file(DATA / "argo-range-query.yaml")
    env = ProviderEnv(query=engine_query(engine))
    (m,) = instantiate(t, {"service-name": "checkout"}, embedded_prometheus=True)
    got = asyncio.run(PromQLProvider.from_env(m.provider, env).query(T0))
    # every value of both series at T0-5m, T0-4m, ..., T0 (6 points each), pod a first
    assert got == [300.0 - k for k in range(5, -1, -1)] + [400.0, 400.0, 1500.0, 400.0, 400.0, 400.0]
    assert asyncio.run(measure(m, env, T0)).phase is MeasurementPhase.FAILED  # the slow minute is in the window
    # the window follows the measurement's time: 10 minutes later the slow minute is out of it
    (m2,) = instantiate(t, {"service-name": "checkout", "lookback-duration": "2m"}, embedded_prometheus=True)
    assert asyncio.run(measure(m2, env, T0)).phase is MeasurementPhase.SUCCESSFUL
    assert asyncio.run(measure(m, env, T0 - 10 * M)).phase is MeasurementPhase.SUCCESSFUL


def test_a_window_too_large_is_an_error_measurement(engine: PromQLEngine) -> None:
    rq = RangeQuery(TimeExpr.compile('now() - duration("48h")'), TimeExpr.compile("now()"), 1_000)
    provider = PromQLProvider.from_env(PromQLConfig("http_latency_ms", rq), ProviderEnv(query=engine_query(engine)))
    with pytest.raises(ProviderError, match="exceeds the maximum") as e:
        asyncio.run(provider.query(T0))
    assert e.value.retryable is False


def test_a_remote_range_query_goes_to_query_range() -> None:
    def api(seen: Seen) -> Answer:
        if seen.path != "/api/v1/query_range":
            return Answer.json({"status": "error", "errorType": "bad_data", "error": "instant query"}, 400)
        return Answer.json({"status": "success", "data": {"resultType": "matrix", "result": [
            {"metric": {"pod": "a"}, "values": [[1, "10"], [2, "20"]]}, {"metric": {"pod": "b"}, "values": [[1, "30"]]}]}})

    rq = RangeQuery(TimeExpr.compile('now() - duration("5m")'), TimeExpr.compile("now()"), M)
    with serve(api) as server:
        got = asyncio.run(PrometheusProvider(PrometheusConfig(server.base, "up", range=rq)).query(T0))
    assert got == [10.0, 20.0, 30.0]
    (seen,) = server.seen
    assert seen.query == {"query": "up", "start": f"{(T0 - 5 * M) / 1000:.3f}", "end": f"{T0 / 1000:.3f}", "step": "60"}
