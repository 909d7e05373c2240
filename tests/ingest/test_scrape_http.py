"""Scraping a real HTTP exporter on 127.0.0.1: gzip, auth, timeouts, connection errors."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest

from sloguard.ingest.scrape import ScrapeLoop, SystemClock, targets_from_config
from sloguard.ingest.scrape_config import ScrapeConfig, resolve
from sloguard.labels import Labels
from sloguard.tsdb.testing import MemoryStorage
from tests.ingest._exporter import ExporterState, serve

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _loop(address: str, storage: MemoryStorage, **kw: Any) -> ScrapeLoop:
    sc = resolve(ScrapeConfig.model_validate(
        {"job_name": "real", "static_configs": [{"targets": [address]}], **kw}
    ))
    (target,), _ = targets_from_config(sc)
    return ScrapeLoop(target, sc, storage, httpx.AsyncClient(), SystemClock())


async def test_scrapes_gzip_body_from_a_real_server() -> None:
    state = ExporterState(b"# TYPE a counter\na_total 3\nb{x=\"1\"} 4\n")
    storage = MemoryStorage()
    with serve(state) as addr:
        result = await _loop(addr, storage).scrape_once()
    assert result.error is None and result.scraped == 2
    assert Labels.of(name__="a_total", job="real", instance=addr) in storage._data
    assert state.headers[0]["Accept-Encoding"] == "gzip"
    assert state.headers[0]["X-Prometheus-Scrape-Timeout-Seconds"] == "10"


async def test_password_file_credentials_are_read_and_sent(tmp_path: Any) -> None:
    pw = tmp_path / "pw"
    pw.write_text("file-secret\n")
    state = ExporterState(b"a 1\n")
    state.required_auth = "Basic " + base64.b64encode(b"bob:file-secret").decode()
    with serve(state) as addr:
        result = await _loop(
            addr, MemoryStorage(), basic_auth={"username": "bob", "password_file": str(pw)}
        ).scrape_once()
    assert result.error is None


async def test_wrong_credentials_fail_with_the_status() -> None:
    state = ExporterState(b"a 1\n")
    state.required_auth = "Bearer right"
    with serve(state) as addr:
        result = await _loop(addr, MemoryStorage(), bearer_token="wrong").scrape_once()
    assert result.error == "server returned HTTP status 401 Unauthorized"


async def test_timeout_fails_the_scrape_like_prometheus() -> None:
    state = ExporterState(b"a 1\n")
    with serve(state) as addr:
        loop = _loop(addr, MemoryStorage(), metrics_path="/hang", scrape_interval="1s", scrape_timeout="200ms")
        result = await loop.scrape_once()
    assert result.error == f'Get "http://{addr}/hang": context deadline exceeded'


async def test_connection_refused_is_a_down_target() -> None:
    with serve(ExporterState(b"")) as addr:
        pass  # the port is now closed
    storage = MemoryStorage()
    result = await _loop(addr, storage).scrape_once()
    assert result.error is not None and result.error.startswith(f'Get "http://{addr}/metrics": ')
    up = storage._data[Labels.of(name__="up", job="real", instance=addr)]
    assert up[1] == [0.0]


async def test_body_size_limit() -> None:
    state = ExporterState(b"a 1\n" * 1000)
    with serve(state) as addr:
        result = await _loop(addr, MemoryStorage(), body_size_limit="1KB").scrape_once()
    assert result.error is not None and "body size limit exceeded" in result.error
