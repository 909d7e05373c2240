"""Metric providers against local servers (127.0.0.1) and the embedded engine."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from sloguard.delivery.analysis import MeasurementPhase, Metric, measure
from sloguard.delivery.analysis.condition import Condition
from sloguard.delivery.analysis.providers import (
    PrometheusConfig,
    PrometheusProvider,
    PromQLConfig,
    PromQLProvider,
    ProviderEnv,
    ProviderError,
    WebConfig,
    WebProvider,
    engine_query,
)
from sloguard.labels import Labels
from sloguard.promql.engine import PromQLEngine
from sloguard.tsdb import TSDB, FsyncPolicy, TSDBOptions
from tests._net import free_port
from tests.delivery.analysis._servers import Answer, Seen, serve

P = MeasurementPhase
T0 = 1_700_000_000_000


def _q(provider: object, now_ms: int = T0) -> object:
    return asyncio.run(provider.query(now_ms))  # type: ignore[attr-defined]


def _metric(provider: object, success: str = "result[0] >= 0.95") -> Metric:
    return Metric("m", provider, Condition.compile(success))  # type: ignore[arg-type]


# --- prometheus: a fake Prometheus API ---------------------------------------------------

def _prom_api(seen: Seen) -> Answer:
    q = seen.query.get("query", "")
    data = {
        "vec": {"resultType": "vector", "result": [
            {"metric": {"a": "1"}, "value": [T0 / 1000, "0.97"]}, {"metric": {"a": "2"}, "value": [T0 / 1000, "0.5"]}]},
        "sc": {"resultType": "scalar", "result": [T0 / 1000, "0.25"]},
        "mat": {"resultType": "matrix", "result": [{"metric": {}, "values": [[1, "1"], [2, "2"]]},
                                                   {"metric": {}, "values": [[1, "3"]]}]},
        "nan": {"resultType": "vector", "result": [{"metric": {}, "value": [1, "NaN"]}]},
        "empty": {"resultType": "vector", "result": []},
        "str": {"resultType": "string", "result": [1, "x"]},
    }
    if q in data:
        return Answer.json({"status": "success", "data": data[q]})
    if q == "slow":
        return Answer(200, b"{}", delay_s=1.5)
    if q == "html":
        return Answer(502, b"<html>bad gateway</html>", "text/html")
    return Answer.json({"status": "error", "errorType": "bad_data", "error": f"parse error in {q!r}"}, 400)


@pytest.fixture(scope="module")
def prom() -> Iterator[str]:
    with serve(_prom_api) as s:
        yield s.base


@pytest.mark.parametrize(("query", "want"), [
    ("vec", [0.97, 0.5]), ("sc", 0.25), ("mat", [1.0, 2.0, 3.0]), ("empty", []),
])
def test_prometheus_results_take_argos_shapes(prom: str, query: str, want: object) -> None:
    assert _q(PrometheusProvider(PrometheusConfig(prom, query))) == want


def test_prometheus_nan_is_no_data(prom: str) -> None:
    m = _metric(PrometheusConfig(prom, "nan"))
    assert asyncio.run(measure(m, ProviderEnv(), T0)).phase is P.NO_DATA


def test_prometheus_sends_query_time_and_auth_headers() -> None:
    seen: list[Seen] = []

    def api(s: Seen) -> Answer:
        seen.append(s)
        return _prom_api(s)

    with serve(api) as s:
        cfg = PrometheusConfig(s.base + "/", "vec", headers=(("X-Scope-OrgID", "team-a"),), basic_auth=("u", "p w"))
        _q(PrometheusProvider(cfg), T0 + 500)
        _q(PrometheusProvider(PrometheusConfig(s.base, "vec", bearer_token="tok")))
    first, second = seen
    assert first.path == "/api/v1/query" and first.query == {"query": "vec", "time": f"{(T0 + 500) / 1000:.3f}"}
    assert first.headers["X-Scope-OrgID"] == "team-a"
    assert first.headers["Authorization"] == "Basic " + base64.b64encode(b"u:p w").decode()
    assert second.headers["Authorization"] == "Bearer tok"


@pytest.mark.parametrize(("query", "words", "retryable"), [
    ("rate(", "refused the query (bad_data): parse error", False),
    ("str", "result of type 'string'", False),
    ("html", "HTTP 502 with a body that is not JSON", True),
])
def test_prometheus_errors_are_sentences(prom: str, query: str, words: str, retryable: bool) -> None:
    with pytest.raises(ProviderError) as e:
        _q(PrometheusProvider(PrometheusConfig(prom, query)))
    assert words in str(e.value) and prom in str(e.value)
    assert e.value.retryable is retryable


def test_prometheus_timeout_is_an_error_measurement(prom: str) -> None:
    m = _metric(PrometheusConfig(prom, "slow", timeout_s=0.2))
    got = asyncio.run(measure(m, ProviderEnv(), T0))
    assert got.phase is P.ERROR and "did not answer within 0.2 s" in got.message


@pytest.mark.parametrize("config", [
    PrometheusConfig(f"http://127.0.0.1:{free_port()}", "up"),
    WebConfig(f"http://127.0.0.1:{free_port()}/metrics"),
])
def test_an_unreachable_url_is_an_error_measurement(config: object) -> None:
    got = asyncio.run(measure(_metric(config), ProviderEnv(), T0))
    assert got.phase is P.ERROR
    assert "127.0.0.1" in got.message and "failed: ConnectError" in got.message


@pytest.fixture(scope="module")
def real_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if shutil.which("prometheus") is None:
        pytest.skip("prometheus not on PATH")
    work = tmp_path_factory.mktemp("prometheus")
    (work / "prometheus.yml").write_text("global: {}\n")
    port = free_port()
    proc = subprocess.Popen(
        ["prometheus", f"--config.file={work / 'prometheus.yml'}", f"--storage.tsdb.path={work / 'db'}",
         f"--web.listen-address=127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):  # bounded readiness poll, up to ~30 s
            try:
                urllib.request.urlopen(f"{base}/-/ready", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("prometheus did not become ready")
        yield base
    finally:
        proc.terminate()
        proc.wait(10)


def test_prometheus_provider_against_the_real_prometheus(real_prometheus: str) -> None:
    now = int(time.time() * 1000)
    assert _q(PrometheusProvider(PrometheusConfig(real_prometheus, "vector(0.97)")), now) == [0.97]
    assert _q(PrometheusProvider(PrometheusConfig(real_prometheus, "scalar(vector(2))")), now) == 2.0
    m = _metric(PrometheusConfig(real_prometheus, "vector(0.5)"))
    assert asyncio.run(measure(m, ProviderEnv(), now)).phase is P.FAILED
    with pytest.raises(ProviderError, match="bad_data"):
        _q(PrometheusProvider(PrometheusConfig(real_prometheus, "rate(")), now)


# --- web ---------------------------------------------------------------------------------

def _web(seen: Seen) -> Answer:
    if seen.path == "/metrics":
        return Answer.json({"data": {"ok": True, "rate": 0.97, "pods": [{"errors": 1}, {"errors": 4}]}})
    if seen.path == "/echo":
        return Answer.json({"method": seen.method, "type": seen.headers.get("Content-Type"),
                            "body": json.loads(seen.body or b"null"), "auth": seen.headers.get("Authorization")})
    if seen.path == "/text":
        return Answer(200, b"healthy", "text/plain")
    return Answer(500, b"oops", "text/plain")


@pytest.fixture(scope="module")
def web() -> Iterator[str]:
    with serve(_web) as s:
        yield s.base


@pytest.mark.parametrize(("path", "json_path", "want"), [
    ("/metrics", "{$.data.rate}", 0.97),
    ("/metrics", "{.data.ok}", True),
    ("/metrics", "{$.data.pods[1].errors}", 4),
    ("/metrics", "$.data.pods[*].errors", 1),  # the first match, as Argo takes it
    ("/text", "{$}", "healthy"),  # a body that is not JSON is the result as text
])
def test_web_json_path(web: str, path: str, json_path: str, want: object) -> None:
    assert _q(WebProvider(WebConfig(web + path, json_path=json_path))) == want


def test_web_whole_body_and_a_condition_on_it(web: str) -> None:
    m = _metric(WebConfig(web + "/metrics"), "result.data.ok && all(result.data.pods, {.errors < 5})")
    assert asyncio.run(measure(m, ProviderEnv(), T0)).phase is P.SUCCESSFUL


def test_web_post_json_body_and_headers(web: str) -> None:
    cfg = WebConfig(web + "/echo", "POST", (("Authorization", "Bearer x"),), json_body='{"canary": "v2"}')
    assert _q(WebProvider(cfg)) == {"method": "POST", "type": "application/json", "body": {"canary": "v2"},
                                    "auth": "Bearer x"}


@pytest.mark.parametrize(("config", "words"), [
    (WebConfig("/fail"), "answered HTTP 500, not 2xx"),
    (WebConfig("/metrics", json_path="{$.nothing}"), "found nothing"),
])
def test_web_failures_are_error_measurements(web: str, config: WebConfig, words: str) -> None:
    cfg = WebConfig(web + config.url, json_path=config.json_path)
    got = asyncio.run(measure(_metric(cfg), ProviderEnv(), T0))
    assert got.phase is P.ERROR and words in got.message


@pytest.mark.parametrize(("config", "words"), [
    (WebConfig("http://x/", body="b"), "only with POST or PUT"),
    (WebConfig("http://x/", "DELETE"), "not one of GET, POST, PUT"),
    (WebConfig("http://x/", json_path="{$.[}"), "does not parse"),
])
def test_web_config_problems_are_refused(config: WebConfig, words: str) -> None:
    with pytest.raises(ProviderError, match=words):
        WebProvider(config)
    assert asyncio.run(measure(_metric(config), ProviderEnv(), T0)).phase is P.ERROR


# --- promql: the embedded engine ---------------------------------------------------------

@pytest.fixture
def engine(tmp_path: Path) -> Iterator[PromQLEngine]:
    db = TSDB.open(tmp_path / "data", TSDBOptions(fsync=FsyncPolicy.NEVER, retention_ms=0))
    ts = np.arange(T0 - 600_000, T0 + 1, 15_000, dtype=np.int64)
    app = db.appender()
    app.append_many(Labels.of(name__="req_total", code="200"), ts, np.cumsum(np.full(len(ts), 97.0)))
    app.append_many(Labels.of(name__="req_total", code="500"), ts, np.cumsum(np.full(len(ts), 3.0)))
    app.commit()
    try:
        yield PromQLEngine(db)
    finally:
        db.close()


def test_promql_provider_on_the_embedded_engine(engine: PromQLEngine) -> None:
    env = ProviderEnv(query=engine_query(engine))
    ratio = 'sum(rate(req_total{code!~"5.."}[5m])) / sum(rate(req_total[5m]))'
    got = asyncio.run(PromQLProvider.from_env(PromQLConfig(ratio), env).query(T0))
    assert got == [pytest.approx(0.97)]
    assert _q(PromQLProvider.from_env(PromQLConfig("scalar(vector(3))"), env)) == 3.0
    # a range vector: the values of all series in order, as the engine returns them
    window = engine.instant_query("req_total[1m]", T0).value
    want = [float(v) for series in window for v in series.values]  # type: ignore[union-attr]
    assert len(want) >= 8 and set(want) >= {123.0, 97.0 * 41}
    assert _q(PromQLProvider.from_env(PromQLConfig("req_total[1m]"), env)) == want
    taken = asyncio.run(measure(_metric(PromQLConfig(ratio)), env, T0))
    assert taken.phase is P.SUCCESSFUL and taken.value.startswith("[0.97")
    assert (taken.started_ms, taken.finished_ms) == (T0, T0)


def test_promql_errors_and_missing_engine(engine: PromQLEngine) -> None:
    query = engine_query(engine)
    with pytest.raises(ProviderError) as e:
        query("sum(rate(req_total[5m])", T0)
    assert "failed at" in str(e.value) and not e.value.retryable
    with pytest.raises(ProviderError, match="returned a string"):
        query('"text"', T0)
    got = asyncio.run(measure(_metric(PromQLConfig("up")), ProviderEnv(), T0))
    assert got.phase is P.ERROR and "needs the embedded query engine" in got.message
    got = asyncio.run(measure(_metric(PromQLConfig("absent_metric")), ProviderEnv(query=query), T0))
    assert got.phase is P.NO_DATA


def test_deeply_nested_json_is_an_error_measurement(web: str) -> None:
    deep = b"[" * 5000 + b"]" * 5000

    with serve(lambda s: Answer(200, deep)) as s:
        got = asyncio.run(measure(_metric(WebConfig(s.base + "/deep"), "len(result) > 0"), ProviderEnv(), T0))
    assert got.phase is P.ERROR and "nested too deeply" in got.message


def test_a_deeply_nested_prometheus_answer_is_an_error_measurement() -> None:
    deep = b'{"status":"success","data":' + b"[" * 200_000
    with serve(lambda s: Answer(200, deep)) as s:
        got = asyncio.run(measure(_metric(PrometheusConfig(s.base, "vec")), ProviderEnv(), T0))
    # the object is level 1, its first "[" (column 28) level 2: level 1,001 is at column 28 + 999
    assert got.phase is P.ERROR and "nests deeper than 1000 levels (at line 1, column 1027)" in got.message


def test_an_oversized_answer_is_refused(web: str) -> None:
    big = b'{"a": "' + b"x" * (9 * 1024 * 1024) + b'"}'
    with serve(lambda s: Answer(200, big)) as s:
        got = asyncio.run(measure(_metric(WebConfig(s.base + "/big")), ProviderEnv(), T0))
    assert got.phase is P.ERROR and "more than 8388608 bytes" in got.message


def test_an_unknown_provider_type_is_an_error_measurement() -> None:
    class Nowhere:
        TYPE = "nowhere"

    got = asyncio.run(measure(_metric(Nowhere()), ProviderEnv(), T0))
    assert got.phase is P.ERROR and "no metric provider of type 'nowhere'" in got.message
