"""The real Prometheus 2.42 and sloguard scrape the same exporter with the same config:
target labels, URLs and the scraped series' label sets must be identical."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from sloguard.ingest.scrape import (
    ScrapeLoop,
    SystemClock,
    TargetHealth,
    TargetStatus,
    targets_from_config,
)
from sloguard.ingest.scrape_config import ScrapeConfig, resolve
from sloguard.labels import Labels
from sloguard.tsdb.testing import MemoryStorage
from tests._net import free_port
from tests.ingest._exporter import ExporterState, serve

pytestmark = [pytest.mark.peer, pytest.mark.slow]

BODY = b"""# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{code="200",job="exposed",instance="x"} 10
http_requests_total{code="500",exported_job="e"} 1
go_goroutines 7
temperature{room="a b",path="C:\\\\x"} 21.5
dropme_total 3
"""


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as r:  # noqa: S310 - loopback only
        return json.load(r)


def _scrape_config(addr: str, job: str = "peer", honor: bool = False) -> dict[str, Any]:
    return {
        "job_name": job,
        "honor_labels": honor,
        "scrape_interval": "1s",
        "scrape_timeout": "1s",
        "params": {"module": ["m1"]},
        "static_configs": [{"targets": [addr], "labels": {"env": "test", "__param_extra": "1"}}],
        "relabel_configs": [
            {"source_labels": ["__address__"], "regex": "(.*):(\\d+)", "target_label": "port", "replacement": "${2}"},
            {"source_labels": ["env"], "target_label": "tier", "replacement": "t-$1"},
        ],
        "metric_relabel_configs": [
            {"source_labels": ["__name__"], "regex": "dropme_.*", "action": "drop"},
            {"regex": "room", "action": "labeldrop"},
        ],
    }


def _wait_for_prometheus_scrape(base: str, proc: subprocess.Popen[bytes], n: int) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"prometheus exited with {proc.returncode}")
        try:
            targets = _get(f"{base}/api/v1/targets")["data"]["activeTargets"]
        except OSError:
            targets = []
        up = {t["scrapePool"]: t for t in targets if t["health"] == "up"}
        if len(up) == n:
            return up
        time.sleep(0.2)
    raise AssertionError("prometheus did not scrape the exporter within 60s")


def _prometheus_series(base: str) -> set[Labels]:
    data = _get(f"{base}/api/v1/series?match[]=%7Bjob%3D~%22.%2B%22%7D")["data"]
    return {Labels(d.items()) for d in data}


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_same_targets_and_series_as_real_prometheus(tmp_path: Path, anyio_backend: str) -> None:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("prometheus not on PATH (install the peers with scripts/install-peers)")
    state = ExporterState(BODY)
    with serve(state) as addr:
        raws = [_scrape_config(addr), _scrape_config(addr, "honor", honor=True)]
        cfg = tmp_path / "prometheus.yml"
        cfg.write_text(yaml.safe_dump({"global": {"scrape_interval": "1s"}, "scrape_configs": raws}))
        port = free_port()
        proc = subprocess.Popen(
            [binary, f"--config.file={cfg}", f"--storage.tsdb.path={tmp_path / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            theirs = _wait_for_prometheus_scrape(base, proc, len(raws))
            their_series = _prometheus_series(base)
        finally:
            proc.terminate()
            proc.wait(timeout=30)

        storage = MemoryStorage()
        for raw in raws:
            sc = resolve(ScrapeConfig.model_validate(raw))
            (target,), _ = targets_from_config(sc)
            loop = ScrapeLoop(target, sc, storage, httpx.AsyncClient(), SystemClock())
            result = await loop.scrape_once()
            assert result.error is None
            mine = TargetStatus(sc.job_name, target.discovered_labels, target.labels, target.url,
                                TargetHealth.UP, "", None, 0.0, target.interval_ms, target.timeout_ms).to_json()
            for key in ("discoveredLabels", "labels", "scrapePool", "scrapeUrl", "scrapeInterval", "scrapeTimeout"):
                assert mine[key] == theirs[sc.job_name][key], (sc.job_name, key)
    assert set(storage._data) == their_series
    # honor_labels kept the exposed job="exposed"; the default renamed it exported_job
    assert any(ls.get("job") == "exposed" for ls in their_series)
    assert any(ls.get("exported_exported_job") == "e" or ls.get("exported_job") == "exposed" for ls in their_series)
