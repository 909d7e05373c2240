"""The server in-process: storage opened off the loop, periodic maintenance, clean stop."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import httpx

from sloguard.api._server import ServeOptions, Server
from sloguard.config import parse_config
from sloguard.tsdb.testing import MemoryStorage


class _Storage(MemoryStorage):
    def __init__(self) -> None:
        super().__init__()
        self.compactions = 0
        self.closed = False

    def compact(self) -> None:
        self.compactions += 1

    def close(self) -> None:
        self.closed = True


async def _no_wait(_: float) -> None:
    await asyncio.sleep(0)


async def _until(check: Any, what: str) -> None:
    for _ in range(2000):  # bounded: ~20 s
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def test_server_runs_maintenance_and_closes_storage_on_stop(tmp_path: Path) -> None:
    storage = _Storage()
    out = io.StringIO()
    options = ServeOptions(
        config_path=tmp_path / "unused.yml", data_dir=tmp_path, host="127.0.0.1", port=0,
        storage_opener=lambda d, s: storage, sleep=_no_wait,
    )
    server = Server(options, parse_config(""), out=out)

    async def scenario() -> None:
        task = asyncio.create_task(server.run())
        await _until(lambda: server.ctx is not None and server.ctx.ready, "readiness")
        await _until(lambda: storage.compactions >= 3, "three maintenance passes")
        url = out.getvalue().split("own metrics", 1)[1].split()[0]
        async with httpx.AsyncClient() as client:
            assert (await client.get(url)).status_code == 200
        server.request_stop()
        await asyncio.wait_for(task, 20)

    asyncio.run(scenario())
    assert storage.closed
    assert ":0/" not in out.getvalue()  # the printed URLs carry the real port


def test_reload_keeps_last_good_config(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yml"
    cfg.write_text("global: {scrape_interval: 5s}\n")
    server = Server(ServeOptions(config_path=cfg, data_dir=tmp_path), parse_config("", str(cfg)))
    assert asyncio.run(server.reload()) is True
    assert server.config.global_.scrape_interval == 5000
    cfg.write_text("global: {scrape_interval: nope}\n")
    assert asyncio.run(server.reload()) is False
    assert server.config.global_.scrape_interval == 5000


def test_http_answers_503_while_the_storage_opens(tmp_path: Path) -> None:
    import threading

    release = threading.Event()
    storage = _Storage()

    def slow_open(d: Path, s: Any) -> _Storage:
        release.wait(20)  # stands in for a long WAL replay
        return storage

    options = ServeOptions(
        config_path=tmp_path / "unused.yml", data_dir=tmp_path, host="127.0.0.1", port=0,
        storage_opener=slow_open, sleep=_no_wait,
    )
    server = Server(options, parse_config(""), out=io.StringIO())

    async def scenario() -> None:
        task = asyncio.create_task(server.run())
        await _until(lambda: server.bound_port is not None, "the listening socket")
        base = f"http://127.0.0.1:{server.bound_port}"
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{base}/-/healthy")).status_code == 200
            assert (await client.get(f"{base}/-/ready")).status_code == 503
            assert (await client.get(f"{base}/api/v1/labels")).status_code == 503
            release.set()
            await _until(lambda: server.ctx is not None and server.ctx.ready, "readiness")
            assert (await client.get(f"{base}/api/v1/labels")).status_code == 200
        server.request_stop()
        await asyncio.wait_for(task, 20)

    asyncio.run(scenario())
    assert storage.closed

