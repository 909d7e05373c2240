"""Peer test: malformed and ill-typed queries get the same error JSON from sloguard as from
a real Prometheus 2.42 (``/api/v1/query``: status, errorType and the full error text with
its ``line:col`` position).

Queries are in ``parse_error_queries.txt``; known differences, with their reason, in
``parse_error_known.txt`` (reported as expected failures while they differ).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from sloguard.api import ServerContext, create_app
from sloguard.promql.engine import EngineOptions, PromQLEngine
from sloguard.tsdb.testing import MemoryStorage

pytestmark = pytest.mark.peer

HERE = Path(__file__).parent
QUERIES = [ln for ln in (HERE / "parse_error_queries.txt").read_text().splitlines() if ln and not ln.startswith("#")]
KNOWN = dict(
    ln.split("\t", 1) for ln in (HERE / "parse_error_known.txt").read_text().splitlines()
    if ln and not ln.startswith("#")
)
EVAL_TIME = "1000"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if shutil.which("prometheus") is None:
        pytest.skip("prometheus not on PATH")
    work = tmp_path_factory.mktemp("prometheus")
    (work / "prometheus.yml").write_text("global: {}\n")
    port = _free_port()
    proc = subprocess.Popen(
        ["prometheus", f"--config.file={work / 'prometheus.yml'}", f"--storage.tsdb.path={work / 'db'}",
         f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):  # bounded poll for readiness: up to ~30 s
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


@pytest.fixture(scope="module")
def sloguard() -> TestClient:
    storage = MemoryStorage()
    ctx = ServerContext(storage=storage, engine=PromQLEngine(storage, EngineOptions()))
    return TestClient(create_app(ctx))


def _prometheus_answer(base: str, query: str) -> dict[str, Any]:
    url = f"{base}/api/v1/query?{urllib.parse.urlencode({'query': query, 'time': EVAL_TIME})}"
    try:
        body: dict[str, Any] = json.loads(urllib.request.urlopen(url, timeout=30).read())
    except urllib.error.HTTPError as e:
        body = json.loads(e.read())
    return body


def _comparable(body: dict[str, Any]) -> dict[str, Any]:
    """The whole body for an error; status and result type for a success (no data is stored)."""
    if body.get("status") == "error":
        return body
    return {"status": body.get("status"), "resultType": body.get("data", {}).get("resultType")}


@pytest.mark.parametrize("query", QUERIES)
def test_same_error_as_prometheus(query: str, prometheus: str, sloguard: TestClient) -> None:
    want = _comparable(_prometheus_answer(prometheus, query))
    got = _comparable(sloguard.get("/api/v1/query", params={"query": query, "time": EVAL_TIME}).json())
    if query in KNOWN and got != want:
        pytest.xfail(f"known difference: {KNOWN[query]}")
    assert got == want


def test_known_differences_are_in_the_query_list() -> None:
    assert set(KNOWN) <= set(QUERIES)
