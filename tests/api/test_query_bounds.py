"""Bounded queries over the HTTP API: form bodies past ``max_body_bytes`` get 413 before
they are buffered, queries get 503 while the process is over its memory ceiling, and a
query the API gave up on is cancelled (its worker stops) instead of running on."""

from __future__ import annotations

import threading
import time
from collections.abc import MutableMapping
from typing import Any

import anyio
import pytest
from starlette.testclient import TestClient

from sloguard.api import create_app
from sloguard.api._context import ServerContext
from sloguard.labels import Labels
from sloguard.promql import EngineOptions, PromQLEngine, QueryResult
from sloguard.tsdb.testing import MemoryStorage

T0 = 1_700_000_000_000


def _storage(series: int = 20) -> MemoryStorage:
    st = MemoryStorage()
    ts = list(range(T0, T0 + 3_600_000, 15_000))
    for i in range(series):
        st.add(Labels.of(name__="mem", i=str(i)), ts, [float(i)] * len(ts))
    return st


def _client(engine: Any = None, **settings: Any) -> TestClient:
    st = _storage()
    ctx = ServerContext(storage=st, engine=engine or PromQLEngine(st), ready=True, serve_demo=False)
    ctx.settings.update(settings)
    return TestClient(create_app(ctx))


@pytest.mark.parametrize("path", ["/api/v1/query", "/api/v1/query_range", "/api/v1/series", "/api/v1/labels", "/api/v1/format_query"])
def test_form_body_over_the_limit_is_413(path: str) -> None:
    client = _client(max_body_bytes=1024)
    r = client.post(path, data={"query": "mem", "match[]": "mem", "pad": "x" * 2000})
    assert r.status_code == 413
    assert r.json()["status"] == "error" and "larger than the limit of 1,024 bytes" in r.json()["error"]


def test_form_body_streamed_without_length_is_cut_at_the_limit() -> None:
    from starlette.requests import Request

    from sloguard.api._http import ApiError, read_body

    pulled = 0

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1  # 64 MB if all 1,000 chunks were read
        return {"type": "http.request", "body": b"x" * 65_536, "more_body": pulled < 1000}

    request = Request({"type": "http", "method": "POST", "headers": []}, receive)
    with pytest.raises(ApiError) as exc:
        anyio.run(read_body, request, 100_000)
    assert exc.value.status == 413
    assert pulled == 2  # refused as soon as the limit was passed


def test_form_body_under_the_limit_still_works() -> None:
    r = _client(max_body_bytes=1024).post("/api/v1/query", data={"query": "sum(mem)", "time": str(T0 / 1000 + 60)})
    assert r.status_code == 200 and float(r.json()["data"]["result"][0]["value"][1]) == sum(range(20))


def test_queries_get_503_while_the_process_is_over_its_memory_limit() -> None:
    rss = [10 << 30]
    client = _client(query_memory_limit=1 << 30, rss=lambda: rss[0])
    r = client.get("/api/v1/query", params={"query": "mem"})
    assert r.status_code == 503 and r.json()["errorType"] == "unavailable"
    assert "uses 10,240 MiB of its 1,024 MiB memory limit" in r.json()["error"]
    assert client.get("/api/v1/query_range", params={"query": "mem", "start": "1", "end": "2", "step": "1"}).status_code == 503
    rss[0] = 100 << 20
    assert client.get("/api/v1/query", params={"query": "mem"}).status_code == 200


def test_real_rss_is_read_from_proc() -> None:
    from sloguard.api._memory import default_memory_limit, rss_bytes

    assert rss_bytes() > 1 << 20
    assert default_memory_limit() > 0


class _Running:
    """The real engine, counting evaluations in progress; it ignores the API's timeout,
    so only the API's cancel event can stop it early."""

    def __init__(self, engine: PromQLEngine) -> None:
        self.engine = engine
        self.running = 0
        self.lock = threading.Lock()

    def range_query(self, expr: str, start: int, end: int, step: int, timeout: float | None = None,
                    cancel: threading.Event | None = None) -> QueryResult:
        with self.lock:
            self.running += 1
        try:
            return self.engine.range_query(expr, start, end, step, None, cancel=cancel)
        finally:
            with self.lock:
                self.running -= 1


def test_query_the_api_gave_up_on_stops_its_worker() -> None:
    st = _storage(200)
    slow = _Running(PromQLEngine(st, EngineOptions(chunk_cells=20_000)))
    ctx = ServerContext(storage=st, engine=slow, ready=True, serve_demo=False)
    ctx.settings.update(query_timeout=0.3, query_timeout_grace=0.0)
    client = TestClient(create_app(ctx))
    expr = "max_over_time(sum by (i) (rate(mem[5m]))[30m:1s]) + avg_over_time(mem[20m:1s])"
    r = client.get("/api/v1/query_range", params={"query": expr, "start": str(T0 / 1000 + 1800), "end": str(T0 / 1000 + 3600), "step": "1"})
    assert r.status_code == 503 and r.json()["errorType"] == "timeout"
    for _ in range(100):  # the worker notices the cancel flag at its next check
        if slow.running == 0:
            break
        time.sleep(0.05)
    assert slow.running == 0


def test_engine_stops_when_cancelled_mid_query() -> None:
    st = _storage(50)
    cancel = threading.Event()
    selects = 0
    real_querier = st.querier

    class Q:
        def __getattr__(self, name: str) -> Any:
            return getattr(real_querier(), name)

        def select(self, *a: Any) -> Any:
            nonlocal selects
            selects += 1
            cancel.set()  # the client goes away while the first chunk runs
            return real_querier().select(*a)

    st.querier = Q  # type: ignore[method-assign,assignment]
    e = PromQLEngine(st, EngineOptions(chunk_cells=500))
    from sloguard.promql import PromQLError

    with pytest.raises(PromQLError, match="canceled") as exc:
        e.range_query("rate(mem[5m])", T0 + 600_000, T0 + 3_600_000, 15_000, cancel=cancel)
    assert exc.value.error_type.value == "canceled"
    assert selects == 1  # no further chunk was evaluated


def test_query_whose_client_went_away_is_cancelled() -> None:
    st = _storage(200)
    slow = _Running(PromQLEngine(st, EngineOptions(chunk_cells=20_000)))
    ctx = ServerContext(storage=st, engine=slow, ready=True, serve_demo=False)
    app = create_app(ctx)
    expr = "max_over_time(sum by (i) (rate(mem[5m]))[30m:1s])"
    query = f"query={expr}&start={T0 / 1000 + 1800}&end={T0 / 1000 + 3600}&step=1".replace("+", "%2B")
    scope = {"type": "http", "method": "GET", "path": "/api/v1/query_range", "raw_path": b"/api/v1/query_range",
             "query_string": query.encode(), "headers": [], "scheme": "http", "server": ("127.0.0.1", 80),
             "client": ("127.0.0.1", 1), "root_path": "", "http_version": "1.1"}
    sent: list[dict[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        return {"type": "http.disconnect"}  # the client is gone by the time anyone asks

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    anyio.run(app, scope, receive, send)
    assert sent[0]["status"] == 503 and b"canceled" in sent[1]["body"]
    for _ in range(100):
        if slow.running == 0:
            break
        time.sleep(0.05)
    assert slow.running == 0
