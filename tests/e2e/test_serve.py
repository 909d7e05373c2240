"""`sloguard serve` as a user runs it: the bundled config, reloads, clean shutdown."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import SloguardProcess, free_port, requires_tsdb, wait_until

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


def test_rule_files_are_evaluated_and_a_bad_reload_keeps_them(
    sloguard_factory: Callable[..., SloguardProcess],
) -> None:
    server = sloguard_factory("")
    assert server.config is not None
    rules_dir = server.config.parent / "rules"
    rules_dir.mkdir()
    (rules_dir / "self.yml").write_text(
        "groups:\n  - name: self\n    rules:\n      - record: job:up:sum\n        expr: sum by (job) (up)\n"
    )
    server.config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"scrape_configs: [{{job_name: self, static_configs: [{{targets: ['127.0.0.1:{server.port}']}}]}}]\n"
        "rule_files: ['rules/*.yml']\n"
    )
    server.start()
    assert server.proc is not None

    def recorded() -> list[dict[str, str]]:
        r = httpx.get(f"{server.url}/api/v1/series", params={"match[]": "job:up:sum"}, timeout=5.0)
        return list(r.json()["data"])

    wait_until(lambda: recorded() == [{"__name__": "job:up:sum", "job": "self"}], 20, "the recording rule")
    (rules_dir / "self.yml").write_text("groups:\n  - name: self\n    rules:\n      - record: x\n")
    server.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "rule reload failed" in server.logs(), 10, "the rule reload error")
    groups = httpx.get(f"{server.url}/api/v1/rules").json()["data"]["groups"]
    assert [g["name"] for g in groups] == ["self"]
    assert server.stop() == 0


def test_bad_rule_file_at_start_is_reported_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "bad.rules.yml").write_text("groups:\n  - name: g\n    rules:\n      - record: x\n")
    cfg = tmp_path / "sloguard.yml"
    cfg.write_text("rule_files: ['*.rules.yml']\n")
    cmd = [
        sys.executable, "-c", "from sloguard.cli import main; main()", "serve", "--config", str(cfg),
        "--data-dir", str(tmp_path / "data"), "--listen", f"127.0.0.1:{free_port()}",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "cannot load rule files" in done.stderr and "bad.rules.yml" in done.stderr


def test_second_server_on_the_same_data_dir_is_refused(
    sloguard_factory: Callable[..., SloguardProcess], tmp_path: Path
) -> None:
    first = sloguard_factory().start()
    cmd = [
        sys.executable, "-c", "from sloguard.cli import main; main()", "serve",
        "--config", str(first.config), "--data-dir", str(first.data_dir),
        "--listen", f"127.0.0.1:{free_port()}",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert f"data directory {first.data_dir} is in use by sloguard pid" in done.stderr
    assert httpx.get(f"{first.url}/-/ready").status_code == 200  # the first one is untouched
    assert first.stop() == 0


def test_the_server_runs_on_uvloop_unless_asked_for_asyncio(
    sloguard_factory: Callable[..., SloguardProcess], tmp_path: Path
) -> None:
    server = sloguard_factory().start()
    assert httpx.get(f"{server.url}/api/v1/status/flags").json()["data"]["event-loop"] == "uvloop"
    assert server.stop() == 0
    server.extra_args = ["--event-loop", "asyncio"]
    server.start()
    assert httpx.get(f"{server.url}/api/v1/status/flags").json()["data"]["event-loop"] == "asyncio"
    r = httpx.get(f"{server.url}/api/v1/query", params={"query": "1+1"})
    assert r.json()["data"]["result"][1] == "2"
    assert server.stop() == 0
    cmd = [sys.executable, "-c", "from sloguard.cli import main; main()", "serve", "--event-loop", "libev",
           "--data-dir", str(tmp_path / "bad"), "--listen", f"127.0.0.1:{free_port()}"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "invalid --event-loop 'libev'" in done.stderr
