"""format_query, query_exemplars, status and metadata endpoints; hung engines."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from sloguard.api._context import ServerContext
from sloguard.api._query import routes
from sloguard.api._query_status import go_time
from sloguard.promql import QueryResult
from sloguard.tsdb.testing import MemoryStorage


class Metadata:
    def metadata(self) -> list[tuple[str, str, str, str]]:
        return [
            ("http_requests_total", "counter", "Requests.", ""),
            ("http_requests_total", "counter", "Requests.", ""),
            ("up", "gauge", "Target up.", ""),
        ]


def _client(**ctx_kw: Any) -> TestClient:
    ctx = ServerContext(storage=MemoryStorage(), **ctx_kw)
    return TestClient(Starlette(routes=routes(ctx)))


@pytest.fixture
def client() -> TestClient:
    return _client(scrape_manager=Metadata())


def test_format_query_prettifies(client: TestClient) -> None:
    r = client.get("/api/v1/format_query", params={"query": "sum by(a)(rate(x[5m]))"})
    assert r.json() == {"status": "success", "data": "sum by (a) (rate(x[5m]))"}
    assert client.post("/api/v1/format_query", data={"query": "foo/on(a)bar"}).json()["data"] == "foo / on (a) bar"


def test_format_query_rejects_bad_expressions_as_bad_data(client: TestClient) -> None:
    r = client.get("/api/v1/format_query", params={"query": "sum("})
    assert r.status_code == 400
    assert r.json()["error"] == 'invalid parameter "query": 1:5: parse error: unclosed left parenthesis'


def test_query_exemplars_is_empty_or_no_content(client: TestClient) -> None:
    assert client.get("/api/v1/query_exemplars", params={"query": "up", "start": "1", "end": "2"}).json() == {"status": "success", "data": []}
    assert client.get("/api/v1/query_exemplars", params={"query": "1"}).status_code == 204
    r = client.get("/api/v1/query_exemplars", params={"query": "up", "start": "x"})
    assert r.json()["error"] == "invalid parameter \"start\": Invalid time value for 'start': cannot parse \"x\" to a valid timestamp"
    r = client.get("/api/v1/query_exemplars", params={"query": "sum("})
    assert (r.status_code, r.json()["error"]) == (400, "1:5: parse error: unclosed left parenthesis")
    r = client.get("/api/v1/query_exemplars", params={"query": "up", "start": "3", "end": "2"})
    assert (r.status_code, r.json()["error"]) == (400, "end timestamp must not be before start timestamp")


def test_runtimeinfo_has_every_prometheus_field(client: TestClient) -> None:
    data = client.get("/api/v1/status/runtimeinfo").json()["data"]
    assert set(data) == {"startTime", "CWD", "reloadConfigSuccess", "lastConfigTime", "corruptionCount", "goroutineCount", "GOMAXPROCS", "GOGC", "GODEBUG", "storageRetention"}


def test_go_time_trims_fraction_like_go() -> None:
    assert go_time(datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=UTC)) == "2026-01-02T03:04:05.12Z"
    assert go_time(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05Z"


def test_metadata_groups_distinct_entries_and_honours_limit_and_metric(client: TestClient) -> None:
    data = client.get("/api/v1/metadata").json()["data"]
    assert data == {
        "http_requests_total": [{"type": "counter", "help": "Requests.", "unit": ""}],
        "up": [{"type": "gauge", "help": "Target up.", "unit": ""}],
    }
    assert len(client.get("/api/v1/metadata", params={"limit": "1"}).json()["data"]) == 1
    assert list(client.get("/api/v1/metadata", params={"metric": "up"}).json()["data"]) == ["up"]
    r = client.get("/api/v1/metadata", params={"limit": "a"})
    assert (r.status_code, r.json()["error"]) == (400, "limit must be a number")


def test_metadata_without_scrape_manager_is_empty() -> None:
    assert _client().get("/api/v1/metadata").json() == {"status": "success", "data": {}}


class HungEngine:
    def __init__(self) -> None:
        self.release = threading.Event()

    def instant_query(self, expr: str, t: int, timeout: float | None = None) -> QueryResult:
        self.release.wait(30)
        raise RuntimeError("released")

    range_query = None


def test_an_engine_that_ignores_its_timeout_is_abandoned_with_a_timeout_error() -> None:
    engine = HungEngine()
    client = _client(engine=engine, settings={"query_timeout_grace": 0.05})
    try:
        r = client.get("/api/v1/query", params={"query": "x", "timeout": "0.01"})
    finally:
        engine.release.set()
    assert r.status_code == 503
    assert r.json() == {"status": "error", "errorType": "timeout", "error": "query timed out in expression evaluation"}


def test_runtimeinfo_reports_the_configured_retention() -> None:
    from sloguard.config import parse_config

    cfg = parse_config("storage:\n  tsdb:\n    retention_time: 100y\n")
    data = _client(config=cfg).get("/api/v1/status/runtimeinfo").json()["data"]
    assert data["storageRetention"] == "100y"


def test_format_query_knows_functions_promql_parser_lacks(client: TestClient) -> None:
    r = client.get("/api/v1/format_query", params={"query": "holt_winters(x[5m],0.5,0.5)"})
    assert r.json() == {"status": "success", "data": "holt_winters(x[5m], 0.5, 0.5)"}
