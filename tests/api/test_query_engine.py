"""The query API over the real engine and MemoryStorage: limits and errors end to end."""

from __future__ import annotations

import numpy as np
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from sloguard.api._context import ServerContext
from sloguard.api._query import routes
from sloguard.labels import Labels
from sloguard.tsdb.testing import MemoryStorage

engine_mod = pytest.importorskip("sloguard.promql.engine", reason="the PromQL engine is not built yet")
T0 = 1_700_000_000_000


def _client(**options: object) -> TestClient:
    storage = MemoryStorage()
    ts = np.arange(T0, T0 + 3_600_000, 15_000, dtype=np.int64)
    for i in range(20):
        storage.add(Labels.of(name__="reqs_total", instance=str(i)), ts, np.arange(len(ts), dtype=np.float64) * i)
    engine = engine_mod.PromQLEngine(storage, engine_mod.EngineOptions(**options))
    return TestClient(Starlette(routes=routes(ServerContext(storage=storage, engine=engine))))


def test_rate_over_the_api_matches_the_counter_slope() -> None:
    r = _client().get("/api/v1/query", params={"query": 'rate(reqs_total{instance="4"}[5m])', "time": str((T0 + 1_800_000) / 1000)})
    assert r.status_code == 200
    [sample] = r.json()["data"]["result"]
    assert sample["metric"] == {"instance": "4"}
    assert float(sample["value"][1]) == pytest.approx(4 / 15)


def test_too_many_samples_is_prometheus_execution_error() -> None:
    r = _client(max_samples=100).get("/api/v1/query_range", params={"query": "reqs_total", "start": str(T0 / 1000), "end": str((T0 + 3_000_000) / 1000), "step": "15"})
    assert r.status_code == 422
    assert r.json() == {"status": "error", "errorType": "execution", "error": "query processing would load too many samples into memory in query execution"}


def test_wrong_argument_type_is_bad_data_naming_the_function() -> None:
    r = _client().get("/api/v1/query", params={"query": "rate(reqs_total)"})
    assert r.status_code == 400
    assert r.json()["errorType"] == "bad_data"
    assert "rate" in r.json()["error"]


def test_range_vector_range_query_is_rejected_like_prometheus() -> None:
    r = _client().get("/api/v1/query_range", params={"query": "reqs_total[5m]", "start": "1", "end": "2", "step": "1"})
    assert r.status_code == 400
    assert r.json()["error"] == 'invalid expression type "range vector" for range query, must be Scalar or instant Vector'


def test_unknown_function_is_bad_data() -> None:
    r = _client().get("/api/v1/query", params={"query": "nosuchfn(reqs_total)"})
    assert (r.status_code, r.json()["errorType"]) == (400, "bad_data")


def test_engine_deadline_answers_503_timeout() -> None:
    ticks = iter(range(0, 10**9, 1000))  # every clock reading is 1000 s later
    storage = MemoryStorage()
    storage.add(Labels.of(name__="reqs_total"), [T0], [1.0])
    engine = engine_mod.PromQLEngine(storage, engine_mod.EngineOptions(), clock=lambda: float(next(ticks)))
    client = TestClient(Starlette(routes=routes(ServerContext(storage=storage, engine=engine))))
    r = client.get("/api/v1/query", params={"query": "sum(rate(reqs_total[5m]))", "time": str(T0 / 1000), "timeout": "10s"})
    assert r.status_code == 503
    assert r.json() == {"status": "error", "errorType": "timeout", "error": "query timed out in expression evaluation"}
