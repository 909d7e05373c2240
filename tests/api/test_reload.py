"""``/-/reload`` and SIGHUP reloads on an in-process server: the lifecycle flag, Prometheus'
500 body with the reason, and the outcome in the runtime info and on ``/metrics``."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx

from sloguard.api._query_status import record_reload
from sloguard.api._server import ServeOptions, Server
from sloguard.config import load_config
from tests.api.test_app_server import _no_wait, _Storage, _until

Scenario = Callable[[Server, httpx.AsyncClient, str], Awaitable[None]]


def _run(tmp_path: Path, scenario: Scenario, lifecycle: bool = True) -> Path:
    cfg = tmp_path / "sloguard.yml"
    cfg.write_text("global: {scrape_interval: 5s}\n")
    options = ServeOptions(
        config_path=cfg, data_dir=tmp_path, host="127.0.0.1", port=0, enable_lifecycle=lifecycle,
        storage_opener=lambda d, s: _Storage(), sleep=_no_wait,
    )
    server = Server(options, load_config(cfg), out=io.StringIO())

    async def main() -> None:
        task = asyncio.create_task(server.run())
        await _until(lambda: server.ctx is not None and server.ctx.ready, "readiness")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.bound_port}") as client:
            await scenario(server, client, str(cfg))
        server.request_stop()
        await asyncio.wait_for(task, 20)

    asyncio.run(main())
    return cfg


async def _info(client: httpx.AsyncClient) -> dict[str, object]:
    data: dict[str, object] = (await client.get("/api/v1/status/runtimeinfo")).json()["data"]
    return data


async def _gauge(client: httpx.AsyncClient, name: str) -> float:
    for line in (await client.get("/metrics")).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} is not on /metrics")


def test_a_failed_reload_says_why_and_shows_in_runtime_info_until_a_good_one(tmp_path: Path) -> None:
    async def scenario(server: Server, client: httpx.AsyncClient, cfg: str) -> None:
        first = await _gauge(client, "sloguard_config_last_reload_success_timestamp_seconds")
        Path(cfg).write_text("global: {scrape_interval: soon}\n")
        r = await client.post("/-/reload")
        assert r.status_code == 500
        assert r.text.startswith(f'failed to reload config: couldn\'t load configuration (--config.file="{cfg}"): ')
        assert "scrape_interval" in r.text and "soon" in r.text
        assert (await _info(client))["reloadConfigSuccess"] is False
        assert await _gauge(client, "sloguard_config_last_reload_successful") == 0
        Path(cfg).write_text("global: {scrape_interval: 7s}\n")
        assert (await client.put("/-/reload")).status_code == 200
        assert (await _info(client))["reloadConfigSuccess"] is True
        assert await _gauge(client, "sloguard_config_last_reload_successful") == 1
        assert await _gauge(client, "sloguard_config_last_reload_success_timestamp_seconds") > first
        assert server.config.global_.scrape_interval == 7000

    _run(tmp_path, scenario)


def test_sighup_reloads_record_their_outcome_too(tmp_path: Path) -> None:
    async def scenario(server: Server, client: httpx.AsyncClient, cfg: str) -> None:
        Path(cfg).write_text("global: {scrape_interval: never}\n")
        assert await server.reload() is False  # what the SIGHUP handler runs
        assert (await _info(client))["reloadConfigSuccess"] is False
        Path(cfg).write_text("global: {scrape_interval: 5s}\n")
        assert await server.reload() is True
        assert (await _info(client))["reloadConfigSuccess"] is True

    _run(tmp_path, scenario)


def test_lifecycle_endpoints_are_refused_without_the_flag(tmp_path: Path) -> None:
    async def scenario(server: Server, client: httpx.AsyncClient, cfg: str) -> None:
        Path(cfg).write_text("global: {scrape_interval: 9s}\n")
        for path in ("/-/reload", "/-/quit"):
            r = await client.post(path)
            assert (r.status_code, r.text) == (403, "Lifecycle API is not enabled.")
        assert server.config.global_.scrape_interval == 5000  # nothing was reloaded
        assert not server._stop.is_set()

    _run(tmp_path, scenario, lifecycle=False)


def test_quit_stops_the_server_with_the_lifecycle_api(tmp_path: Path) -> None:
    async def scenario(server: Server, client: httpx.AsyncClient, cfg: str) -> None:
        r = await client.post("/-/quit")
        assert (r.status_code, r.text) == (200, "Requesting termination... Goodbye!")
        assert server._stop.is_set()

    _run(tmp_path, scenario)


def test_last_config_time_follows_successes_only() -> None:
    settings: dict[str, object] = {}
    t1, t2 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)
    record_reload(settings, ok=True, now=t1)
    record_reload(settings, ok=False, now=t2)
    assert settings == {"reload_config_success": False, "last_config_time": t1}
    record_reload(settings, ok=True, now=t2)
    assert settings == {"reload_config_success": True, "last_config_time": t2}
