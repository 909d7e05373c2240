"""Alerts from rule_files reach a real Alertmanager configured under `alerting:`."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import SloguardProcess, free_port, requires_tsdb, wait_until

AM = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.peer,
    requires_tsdb(),
    pytest.mark.skipif(AM is None, reason="alertmanager binary not on PATH"),
]


@pytest.fixture()
def alertmanager(tmp_path: Path) -> Iterator[str]:
    assert AM is not None
    cfg = tmp_path / "am.yml"
    cfg.write_text("route: {receiver: blackhole, group_wait: 0s}\nreceivers: [{name: blackhole}]\n")
    port = free_port()
    with (tmp_path / "am.log").open("wb") as log:
        proc = subprocess.Popen(
            [AM, f"--config.file={cfg}", f"--storage.path={tmp_path / 'am'}",
             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
            stdout=log, stderr=log,
        )
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        try:
            return httpx.get(f"{url}/-/ready", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until(ready, 30, "alertmanager to become ready")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def _alerts(url: str) -> list[dict[str, Any]]:
    return list(httpx.get(f"{url}/api/v2/alerts", timeout=5.0).json())


def test_firing_alert_reaches_alertmanager(
    sloguard_factory: Callable[..., SloguardProcess], alertmanager: str
) -> None:
    server = sloguard_factory("")
    assert server.config is not None
    (server.config.parent / "alerts.yml").write_text(
        "groups:\n  - name: demo\n    rules:\n"
        "      - alert: AlwaysFiring\n        expr: vector(1)\n"
        "        labels: {severity: page}\n        annotations: {summary: 'it fires'}\n"
    )
    am_host = alertmanager.removeprefix("http://")
    server.config.write_text(
        "global: {evaluation_interval: 1s, external_labels: {site: e2e}}\n"
        "rule_files: [alerts.yml]\n"
        f"alerting: {{alertmanagers: [{{static_configs: [{{targets: ['{am_host}']}}]}}]}}\n"
    )
    server.start()
    wait_until(lambda: any(a["labels"].get("alertname") == "AlwaysFiring" for a in _alerts(alertmanager)),
               30, "the alert in Alertmanager")
    alert = next(a for a in _alerts(alertmanager) if a["labels"]["alertname"] == "AlwaysFiring")
    assert alert["labels"] == {"alertname": "AlwaysFiring", "severity": "page", "site": "e2e"}
    assert alert["annotations"] == {"summary": "it fires"}
    assert alert["generatorURL"].startswith(server.url)
    assert server.stop() == 0
