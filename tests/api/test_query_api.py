"""The query endpoints' parameters, error texts and JSON shapes (engine faked)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from sloguard.api._context import ServerContext
from sloguard.api._query import routes
from sloguard.labels import Labels
from sloguard.promql import (
    ErrorType,
    ParseError,
    PromQLError,
    QueryResult,
    Sample,
    Scalar,
    Series,
    String,
    ValueType,
)
from sloguard.tsdb.testing import MemoryStorage

NOW = 1_700_000_000.0


@dataclass
class FakeEngine:
    result: QueryResult | Exception = field(
        default_factory=lambda: QueryResult(Scalar(0, 1.0), ValueType.SCALAR)
    )
    calls: list[tuple[Any, ...]] = field(default_factory=list)

    def _answer(self) -> QueryResult:
        if isinstance(self.result, Exception):
            raise self.result
        return self.result

    def instant_query(self, expr: str, t: int, timeout: float | None = None) -> QueryResult:
        self.calls.append(("instant", expr, t, timeout))
        return self._answer()

    def range_query(
        self, expr: str, start: int, end: int, step: int, timeout: float | None = None
    ) -> QueryResult:
        self.calls.append(("range", expr, start, end, step, timeout))
        return self._answer()


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def client(engine: FakeEngine) -> TestClient:
    ctx = ServerContext(storage=MemoryStorage(), engine=engine, settings={"clock": lambda: NOW})
    return TestClient(Starlette(routes=routes(ctx)))


def test_instant_query_defaults_time_to_now_and_passes_timeout(client: TestClient, engine: FakeEngine) -> None:
    r = client.get("/api/v1/query", params={"query": "up", "timeout": "5s"})
    assert r.status_code == 200
    assert engine.calls == [("instant", "up", 1_700_000_000_000, 5.0)]


def test_post_form_parameters_are_read(client: TestClient, engine: FakeEngine) -> None:
    r = client.post("/api/v1/query_range", data={"query": "up", "start": "10", "end": "70", "step": "1m"})
    assert r.status_code == 200
    assert engine.calls == [("range", "up", 10_000, 70_000, 60_000, 120.0)]


def test_rfc3339_and_float_times_are_accepted(client: TestClient, engine: FakeEngine) -> None:
    client.get("/api/v1/query", params={"query": "1", "time": "2023-11-14T22:13:20.5Z"})
    client.get("/api/v1/query", params={"query": "1", "time": "1700000000.123"})
    assert [c[2] for c in engine.calls] == [1_700_000_000_500, 1_700_000_000_123]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"start": "x", "end": "2", "step": "1"}, 'invalid parameter "start": cannot parse "x" to a valid timestamp'),
        ({"start": "1", "end": "y", "step": "1"}, 'invalid parameter "end": cannot parse "y" to a valid timestamp'),
        ({}, 'invalid parameter "start": cannot parse "" to a valid timestamp'),
        ({"start": "3", "end": "2", "step": "1"}, 'invalid parameter "end": end timestamp must not be before start time'),
        ({"start": "1", "end": "2", "step": "0"}, 'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer'),
        ({"start": "1", "end": "2", "step": "-1"}, 'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer'),
        ({"start": "1", "end": "2", "step": "x"}, 'invalid parameter "step": cannot parse "x" to a valid duration'),
        ({"start": "1", "end": "2"}, 'invalid parameter "step": cannot parse "" to a valid duration'),
        ({"start": "1", "end": "2", "step": "1e400"}, 'invalid parameter "step": cannot parse "1e400" to a valid duration'),
        ({"start": "1", "end": "200000", "step": "1"}, "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"),
        ({"start": "1", "end": "2", "step": "1", "timeout": "soon"}, 'invalid parameter "timeout": cannot parse "soon" to a valid duration'),
    ],
)
def test_range_parameter_errors_match_prometheus(client: TestClient, engine: FakeEngine, params: dict[str, str], message: str) -> None:
    r = client.get("/api/v1/query_range", params={"query": "up", **params})
    assert r.status_code == 400
    assert r.json() == {"status": "error", "errorType": "bad_data", "error": message}
    assert engine.calls == []


def test_bad_instant_time_uses_the_time_param_wording(client: TestClient) -> None:
    r = client.get("/api/v1/query", params={"query": "1", "time": "2023-11-14T22:13:20"})
    assert r.status_code == 400
    assert r.json()["error"] == (
        "invalid parameter \"time\": Invalid time value for 'time': "
        'cannot parse "2023-11-14T22:13:20" to a valid timestamp'
    )


@pytest.mark.parametrize(("step", "ms"), [("1m", 60_000), ("1h30m", 5_400_000), ("1.5", 1_500), ("1e3", 1_000_000), ("0.001", 1), ("1d", 86_400_000), ("250ms", 250)])
def test_step_accepts_durations_and_float_seconds(client: TestClient, engine: FakeEngine, step: str, ms: int) -> None:
    r = client.get("/api/v1/query_range", params={"query": "1", "start": "0", "end": "1", "step": step})
    assert r.status_code == 200
    assert engine.calls[-1][4] == ms


def test_parse_error_is_prefixed_for_instant_but_not_for_range(client: TestClient, engine: FakeEngine) -> None:
    engine.result = ParseError("1:5: parse error: unclosed left parenthesis")
    r = client.get("/api/v1/query", params={"query": "sum("})
    assert (r.status_code, r.json()["error"]) == (400, 'invalid parameter "query": 1:5: parse error: unclosed left parenthesis')
    r = client.get("/api/v1/query_range", params={"query": "sum(", "start": "1", "end": "2", "step": "1"})
    assert (r.status_code, r.json()["error"]) == (400, "1:5: parse error: unclosed left parenthesis")


@pytest.mark.parametrize(("etype", "status"), [(ErrorType.EXECUTION, 422), (ErrorType.TIMEOUT, 503), (ErrorType.CANCELED, 503), (ErrorType.BAD_DATA, 400)])
def test_engine_errors_map_to_prometheus_status_codes(client: TestClient, engine: FakeEngine, etype: ErrorType, status: int) -> None:
    engine.result = PromQLError("query processing would load too many samples into memory in query execution", etype)
    r = client.get("/api/v1/query", params={"query": "x"})
    assert r.status_code == status
    assert r.json()["errorType"] == etype.value


def test_an_engine_bug_is_an_execution_error_not_a_500(client: TestClient, engine: FakeEngine) -> None:
    engine.result = ZeroDivisionError("division by zero")
    r = client.get("/api/v1/query", params={"query": "x"})
    assert r.status_code == 422
    assert r.json()["errorType"] == "execution"
    assert "division by zero" in r.json()["error"]


def test_vector_json_matches_prometheus_bytes(client: TestClient, engine: FakeEngine) -> None:
    labels = Labels.of(name__="up", job="a<b", instance="x")
    engine.result = QueryResult([Sample(labels, 1_700_000_000_500, 1e-7), Sample(Labels(), 1_700_000_000_000, math.nan)], ValueType.VECTOR)
    r = client.get("/api/v1/query", params={"query": "up"})
    assert r.headers["content-type"] == "application/json"
    assert r.text == (
        '{"status":"success","data":{"resultType":"vector","result":['
        '{"metric":{"__name__":"up","instance":"x","job":"a\\u003cb"},"value":[1700000000.500,"1e-07"]},'
        '{"metric":{},"value":[1700000000,"NaN"]}]}}'
    )


def test_matrix_json_has_values_and_warnings(client: TestClient, engine: FakeEngine) -> None:
    s = Series(Labels.of(a="1"), np.array([0, 500, -1500], np.int64), np.array([1.0, math.inf, 1e21]))
    engine.result = QueryResult([s], ValueType.MATRIX, ["careful"])
    r = client.get("/api/v1/query_range", params={"query": "x", "start": "0", "end": "1", "step": "1"})
    assert r.text == (
        '{"status":"success","data":{"resultType":"matrix","result":['
        '{"metric":{"a":"1"},"values":[[0,"1"],[0.500,"+Inf"],[-1.500,"1e+21"]]}]},"warnings":["careful"]}'
    )


def test_scalar_and_string_use_go_float_timestamps(client: TestClient, engine: FakeEngine) -> None:
    engine.result = QueryResult(Scalar(1_700_000_000_500, 1.5e300 * 10), ValueType.SCALAR)
    body = client.get("/api/v1/query", params={"query": "x"}).json()
    assert body["data"]["result"][0] == 1700000000.5
    assert body["data"]["result"][1] == "15" + "0" * 300
    engine.result = QueryResult(String(100_000, "abc"), ValueType.STRING)
    assert client.get("/api/v1/query", params={"query": "x"}).text == (
        '{"status":"success","data":{"resultType":"string","result":[100,"abc"]}}'
    )


def test_empty_vector_is_an_empty_list(client: TestClient, engine: FakeEngine) -> None:
    engine.result = QueryResult([], ValueType.VECTOR)
    assert client.get("/api/v1/query", params={"query": "x"}).json()["data"] == {"resultType": "vector", "result": []}


def test_missing_engine_answers_unavailable() -> None:
    ctx = ServerContext(storage=MemoryStorage(), engine=None)
    r = TestClient(Starlette(routes=routes(ctx))).get("/api/v1/query", params={"query": "1"})
    assert r.status_code == 503
    assert r.json()["errorType"] == "unavailable"


def test_results_are_gzipped_when_the_client_accepts_it(client: TestClient, engine: FakeEngine) -> None:
    engine.result = QueryResult([Sample(Labels.of(a="1"), 0, 1.0)], ValueType.VECTOR)
    r = client.get("/api/v1/query", params={"query": "x"}, headers={"Accept-Encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip"
    assert r.json()["data"]["result"] == [{"metric": {"a": "1"}, "value": [0, "1"]}]
    r = client.get("/api/v1/query", params={"query": "x"}, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in r.headers
