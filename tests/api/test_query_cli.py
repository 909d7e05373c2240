"""`sloguard query` / `query-range` against a running server (engine faked)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import uvicorn
from starlette.applications import Starlette
from typer.testing import CliRunner

from sloguard.api._context import ServerContext
from sloguard.api._query import routes
from sloguard.cli import app
from sloguard.labels import Labels
from sloguard.promql import PromQLError, QueryResult, Sample, Series, ValueType
from sloguard.tsdb.testing import MemoryStorage

from .test_query_api import FakeEngine


@pytest.fixture
def served() -> Iterator[tuple[str, FakeEngine]]:
    engine = FakeEngine()
    ctx = ServerContext(storage=MemoryStorage(), engine=engine)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(Starlette(routes=routes(ctx)), host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):  # bounded wait for the server to come up
        if server.started:
            break
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}", engine
    server.should_exit = True
    thread.join(5)


def test_query_prints_a_table_of_the_vector(served: tuple[str, FakeEngine]) -> None:
    url, engine = served
    engine.result = QueryResult([Sample(Labels.of(name__="up", job="api"), 1_700_000_000_000, 1.0)], ValueType.VECTOR)
    r = CliRunner().invoke(app, ["query", "up", "--time", "1700000000", "--url", url])
    assert r.exit_code == 0, r.output
    assert 'up{job="api"}' in r.output
    assert engine.calls[0][:3] == ("instant", "up", 1_700_000_000_000)


def test_query_range_json_is_the_prometheus_body(served: tuple[str, FakeEngine]) -> None:
    url, engine = served
    s = Series(Labels.of(a="1"), np.array([0, 60_000], np.int64), np.array([1.0, 2.0]))
    engine.result = QueryResult([s], ValueType.MATRIX)
    r = CliRunner().invoke(app, ["query-range", "x", "--start", "0", "--end", "60", "--step", "1m", "--url", url, "-o", "json"])
    assert r.exit_code == 0, r.output
    assert r.output.strip() == '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"a":"1"},"values":[[0,"1"],[60,"2"]]}]}}'
    assert engine.calls[0][2:5] == (0, 60_000, 60_000)


def test_query_error_exits_nonzero_with_the_error_text(served: tuple[str, FakeEngine]) -> None:
    url, engine = served
    engine.result = PromQLError("query processing would load too many samples into memory in query execution")
    r = CliRunner().invoke(app, ["query", "x", "--url", url])
    assert r.exit_code == 1
    assert "too many samples" in r.output


def test_bad_time_option_is_reported_without_contacting_a_server() -> None:
    r = CliRunner().invoke(app, ["query", "x", "--time", "yesterday", "--url", "http://127.0.0.1:9"])
    assert r.exit_code == 2
    assert "Invalid --time 'yesterday'" in r.output


def test_query_reads_a_data_directory_directly(tmp_path: Path) -> None:
    tsdb = pytest.importorskip("sloguard.tsdb")
    db = tsdb.TSDB.open(tmp_path)
    app_ = db.appender()
    for inst in ("a", "b"):
        ts = np.arange(0, 600_000, 15_000, dtype=np.int64) + 1_700_000_000_000
        app_.append_many(Labels.of(name__="reqs_total", instance=inst), ts, np.arange(len(ts), dtype=np.float64))
    app_.commit()
    db.close()
    r = CliRunner().invoke(app, ["query", "sum(reqs_total)", "--time", "1700000300", "--data-dir", str(tmp_path), "-o", "json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["data"]["result"] == [{"metric": {}, "value": [1700000300, "40"]}]
    r = CliRunner().invoke(app, ["query-range", "reqs_total", "--start", "1700000000", "--end", "1700000060", "--step", "30s", "--data-dir", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert 'reqs_total{instance="a"}' in r.output


def test_missing_data_directory_is_a_clear_error(tmp_path: Path) -> None:
    r = CliRunner().invoke(app, ["query", "up", "--data-dir", str(tmp_path / "nope")])
    assert r.exit_code == 2
    assert "does not exist" in " ".join(r.output.split())
