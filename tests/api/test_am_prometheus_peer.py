"""A real Prometheus 2.42 with ``alerting.alertmanagers`` pointing at sloguard sends its
firing alerts to sloguard's ``POST /api/v2/alerts``; they read back from ``GET``."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests._net import free_port
from tests.api._am_served import serve_fake

PROMETHEUS = shutil.which("prometheus")
RULES = """groups:
  - name: g
    interval: 1s
    rules:
      - alert: AlwaysFiring
        expr: vector(1)
        labels: {severity: page}
        annotations: {summary: "always {{ $value }}"}
"""


@pytest.mark.peer
@pytest.mark.skipif(PROMETHEUS is None, reason="prometheus is not installed")
def test_prometheus_sends_its_alerts_to_sloguard(tmp_path: Path) -> None:
    with serve_fake("route: {receiver: pager}\nreceivers: [{name: pager}]\n", tmp_path) as (url, fake):
        (tmp_path / "rules.yml").write_text(RULES)
        (tmp_path / "prom.yml").write_text(
            "global: {evaluation_interval: 1s}\nrule_files: [rules.yml]\n"
            f"alerting: {{alertmanagers: [{{static_configs: [{{targets: ['{url.removeprefix('http://')}']}}]}}]}}\n")
        port = free_port()
        log = (tmp_path / "prom.log").open("w")
        proc = subprocess.Popen(
            [PROMETHEUS or "prometheus", f"--config.file={tmp_path / 'prom.yml'}", f"--storage.tsdb.path={tmp_path / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}", "--rules.alert.resend-delay=1s"],
            stdout=subprocess.DEVNULL, stderr=log)
        try:
            for _ in range(300):  # bounded wait (Prometheus evaluates every second, then sends)
                if fake.received:
                    break
                time.sleep(0.05)
        finally:
            proc.terminate()
            proc.wait(10)
            log.close()
        assert fake.received, "Prometheus sent nothing to sloguard within 15 s: " + (tmp_path / "prom.log").read_text()[-2000:]
        alert = fake.received[0]
        assert alert.labels.to_dict() == {"alertname": "AlwaysFiring", "severity": "page"}
        assert dict(alert.annotations) == {"summary": "always 1"}
        assert alert.generator_url.startswith("http://") and alert.ends_at is not None  # Prometheus sets an end
        (got,) = httpx.get(f"{url}/api/v2/alerts").json()
        assert got["labels"] == {"alertname": "AlwaysFiring", "severity": "page"}
        assert got["receivers"] == [{"name": "pager"}]
