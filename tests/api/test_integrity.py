"""Damaged data as the HTTP API shows it: /-/ready degraded, /metrics counters, an
``integrity`` section in /api/v1/status/tsdb, and imported blocks served within one
maintenance pass of a running server."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from starlette.testclient import TestClient

from sloguard.api import ServerContext, create_app
from sloguard.api._server import ServeOptions, Server
from sloguard.config import parse_config
from sloguard.labels import Labels
from sloguard.tsdb import TSDB, BlockWriter, TSDBOptions

BD = 10_000


@pytest.fixture
def damaged(tmp_path: Path) -> Iterator[TSDB]:
    data = tmp_path / "data"
    with BlockWriter(data, block_duration_ms=BD) as bw:
        bw.add(Labels.of(name__="old"), np.array([1000, 2000], np.int64), np.array([1.0, 2.0]))
    (block,) = [p for p in data.iterdir() if (p / "meta.json").exists()]
    (block / "tminmax.npy").write_bytes((block / "tminmax.npy").read_bytes()[:-3] + b"\x00\x01\x02")
    db = TSDB.open(data, TSDBOptions(block_duration_ms=BD))
    yield db
    db.close()


def test_ready_stays_200_but_says_degraded_and_metrics_count_the_quarantine(damaged: TSDB) -> None:
    client = TestClient(create_app(ServerContext(storage=damaged, ready=True)))
    ready = client.get("/-/ready")
    assert ready.status_code == 200
    assert "degraded: 1 block(s) quarantined" in ready.text and "quarantine" in ready.text
    metrics = client.get("/metrics").text
    assert "sloguard_tsdb_blocks_quarantined 1.0" in metrics
    assert "sloguard_tsdb_wal_corruptions_total 0.0" in metrics
    status = client.get("/api/v1/status/tsdb").json()["data"]
    (q,) = status["integrity"]["quarantinedBlocks"]
    assert "tminmax.npy" in q["reason"] and q["path"].endswith(q["ulid"])
    assert "headStats" in status and "seriesCountByMetricName" in status  # Prometheus' fields kept


def test_a_clean_tsdb_is_ready_without_a_degraded_line(tmp_path: Path) -> None:
    with TSDB.open(tmp_path / "data") as db:
        client = TestClient(create_app(ServerContext(storage=db, ready=True)))
        assert client.get("/-/ready").text == "sloguard is Ready.\n"
        assert client.get("/api/v1/status/tsdb").json()["data"]["integrity"]["quarantinedBlocks"] == []


def test_wal_damage_is_counted_on_metrics(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with TSDB.open(data) as db:
        for i in range(5):
            app = db.appender()
            app.append(Labels.of(name__="up"), 1000 * (i + 1), 1.0)
            app.commit()
    seg = max((p for p in (data / "wal").iterdir() if p.name.isdigit() and p.stat().st_size), key=lambda p: p.name)
    raw = bytearray(seg.read_bytes())
    raw[-5] ^= 0xFF  # inside the last record's value: its checksum no longer matches
    seg.write_bytes(bytes(raw))
    with TSDB.open(data) as db:
        client = TestClient(create_app(ServerContext(storage=db, ready=True)))
        metrics = client.get("/metrics").text
        assert "sloguard_tsdb_wal_corruptions_total 1.0" in metrics
        assert "sloguard_tsdb_wal_replay_samples_lost_total 1.0" in metrics
        assert "WAL replay found 1 damaged file(s)" in client.get("/-/ready").text
        assert client.get("/api/v1/status/tsdb").json()["data"]["integrity"]["walReplaySamplesLost"] == 1


def test_a_running_server_serves_an_imported_block_after_one_maintenance_pass(tmp_path: Path) -> None:
    data = tmp_path / "data"
    passes: list[float] = []
    gate = asyncio.Event()

    async def sleep(seconds: float) -> None:  # the maintenance loop's clock: one pass per release
        passes.append(seconds)
        await gate.wait()
        gate.clear()

    out = io.StringIO()
    options = ServeOptions(config_path=tmp_path / "unused.yml", data_dir=data, host="127.0.0.1", port=0, sleep=sleep)
    server = Server(options, parse_config(""), out=out)

    async def count(client: httpx.AsyncClient, url: str) -> int:
        r = await client.get(f"{url}/api/v1/query", params={"query": "count_over_time(imported[1h])", "time": "3"})
        return len(r.json()["data"]["result"])

    async def scenario() -> None:
        task = asyncio.create_task(server.run())
        for _ in range(2000):
            if server.ctx is not None and server.ctx.ready and passes:
                break
            await asyncio.sleep(0.01)
        url = out.getvalue().split("UI and API", 1)[1].split()[0].rstrip("/")
        with BlockWriter(data, block_duration_ms=BD) as bw:
            bw.add(Labels.of(name__="imported"), np.array([1000, 2000], np.int64), np.array([1.0, 2.0]))
        async with httpx.AsyncClient(timeout=30) as client:
            assert await count(client, url) == 0
            assert passes == [60.0]  # the maintenance interval: a minute
            gate.set()
            for _ in range(2000):
                if len(passes) >= 2:
                    break
                await asyncio.sleep(0.01)
            assert await count(client, url) == 1
        server.request_stop()
        gate.set()
        await asyncio.wait_for(task, 20)

    asyncio.run(scenario())
