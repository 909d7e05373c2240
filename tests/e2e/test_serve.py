"""`sloguard serve` as a user runs it: the bundled config, reloads, clean shutdown."""

from __future__ import annotations

import signal
from collections.abc import Callable

import httpx
import pytest

from tests.e2e.conftest import SloguardProcess, requires_tsdb, wait_until

pytestmark = [pytest.mark.slow, requires_tsdb()]


def _jobs(url: str) -> set[str]:
    r = httpx.get(f"{url}/api/v1/series", params={"match[]": "up"}, timeout=5.0)
    return {s["job"] for s in r.json()["data"]}


def _target_jobs(url: str) -> set[str]:
    data = httpx.get(f"{url}/api/v1/targets", timeout=5.0).json()["data"]
    return {t["labels"]["job"] for t in data["activeTargets"]}


def test_bundled_config_scrapes_itself_and_the_demo_and_prints_urls(
    sloguard_factory: Callable[..., SloguardProcess],
) -> None:
    server = sloguard_factory(None).start()
    assert _target_jobs(server.url) == {"sloguard", "demo"}
    wait_until(lambda: _jobs(server.url) == {"sloguard", "demo"}, 25, "first scrapes of both jobs")
    r = httpx.get(f"{server.url}/api/v1/series", params={"match[]": 'http_requests_total{job="demo"}'})
    assert len(r.json()["data"]) == 6  # 3 routes x 2 codes
    assert server.stop() == 0
    for path in ("/metrics", "/api/v1/write", "/demo/metrics"):
        assert f"{server.url}{path}" in server.stdout
    assert "storage closed" in server.logs()


def test_sighup_applies_new_scrape_configs_and_keeps_last_good_on_error(
    sloguard_factory: Callable[..., SloguardProcess],
) -> None:
    server = sloguard_factory("scrape_configs: [{job_name: first, static_configs: [{targets: ['127.0.0.1:1']}]}]\n")
    server.start()
    assert server.config is not None and server.proc is not None
    assert _target_jobs(server.url) == {"first"}
    server.config.write_text("scrape_configs: [{job_name: second, static_configs: [{targets: ['127.0.0.1:1']}]}]\n")
    server.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: _target_jobs(server.url) == {"second"}, 10, "the reloaded scrape config")

    server.config.write_text("global: {scrape_interval: soon}\n")
    server.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "config reload failed" in server.logs(), 10, "the reload error in the logs")
    assert "global.scrape_interval" in server.logs()
    assert _target_jobs(server.url) == {"second"}
    assert httpx.get(f"{server.url}/-/ready").status_code == 200
    assert server.stop() == 0
