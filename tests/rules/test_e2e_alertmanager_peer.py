"""End to end: a real Prometheus and sloguard evaluate the same rule file and each send to
its own real Alertmanager; both Alertmanagers end up holding the same alerts (labels,
annotations, generator URL)."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from sloguard.promql.engine import PromQLEngine
from sloguard.rules import SystemClock, rule_manager_for
from sloguard.tsdb.testing import MemoryStorage

RULES = """
groups:
  - name: e2e
    interval: 1s
    rules:
      - alert: HighValue
        expr: label_replace(vector(1234.5), "instance", "db-1", "", "")
        labels: {severity: '{{ if gt $value 1000.0 }}page{{ else }}ticket{{ end }}'}
        annotations:
          summary: '{{ $labels.instance }} at {{ humanize $value }} ({{ $externalLabels.dc }})'
          pct: '{{ humanizePercentage 0.25 }}'
      - alert: Pending
        expr: vector(1)
        for: 1h
"""


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str) -> None:
    for _ in range(150):
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not become ready")


def _alerts(base: str) -> list[dict[str, Any]]:
    return sorted(
        ({"labels": a["labels"], "annotations": a["annotations"], "generatorURL": a["generatorURL"]}
         for a in httpx.get(f"{base}/api/v2/alerts", timeout=5).json()),
        key=lambda a: sorted(a["labels"].items()),
    )


@pytest.mark.peer
@pytest.mark.slow
def test_prometheus_and_sloguard_deliver_the_same_alerts(tmp_path: Path) -> None:
    am = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if am is None or shutil.which("prometheus") is None:
        pytest.skip("prometheus and prometheus-alertmanager are needed")
    (tmp_path / "rules.yml").write_text(RULES)
    (tmp_path / "am.yml").write_text("route: {receiver: 'null'}\nreceivers: [{name: 'null'}]\n")
    am_ports, prom_port = [_port(), _port()], _port()
    procs = [
        subprocess.Popen([am, f"--config.file={tmp_path / 'am.yml'}", f"--web.listen-address=127.0.0.1:{p}",
                          "--cluster.listen-address=", f"--storage.path={tmp_path / f'am{i}'}"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for i, p in enumerate(am_ports)
    ]
    url = "http://sloguard.example:9090"
    (tmp_path / "prom.yml").write_text(
        "global: {evaluation_interval: 1s, external_labels: {dc: eu1}}\nrule_files: [rules.yml]\n"
        f"alerting: {{alertmanagers: [{{static_configs: [{{targets: ['127.0.0.1:{am_ports[0]}']}}]}}]}}\n")
    try:
        for p in am_ports:
            _wait(f"http://127.0.0.1:{p}/-/ready")
        procs.append(subprocess.Popen(
            ["prometheus", f"--config.file={tmp_path / 'prom.yml'}", f"--web.listen-address=127.0.0.1:{prom_port}",
             f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.external-url={url}",
             "--rules.alert.resend-delay=1s"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        storage = MemoryStorage()

        async def run_sloguard() -> None:
            m = rule_manager_for(storage, PromQLEngine(storage), [str(tmp_path / "rules.yml")],
                                 evaluation_interval_ms=1000, external_labels={"dc": "eu1"},
                                 external_url=url, alertmanager_urls=[f"http://127.0.0.1:{am_ports[1]}"],
                                 clock=SystemClock())
            await m.start()
            await asyncio.sleep(3.5)
            await m.stop()
            assert m.notify is not None
            await m.notify.aclose()  # type: ignore[attr-defined]

        asyncio.run(run_sloguard())
        theirs: list[dict[str, Any]] = []
        for _ in range(300):  # Prometheus discovers its Alertmanager within ~5s, then resends every 1s
            theirs = _alerts(f"http://127.0.0.1:{am_ports[0]}")
            if theirs:
                break
            time.sleep(0.1)
        ours = _alerts(f"http://127.0.0.1:{am_ports[1]}")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=20)
    assert theirs, "Prometheus delivered nothing"
    assert ours == theirs
    assert ours[0]["labels"] == {"alertname": "HighValue", "dc": "eu1", "instance": "db-1", "severity": "page"}
