"""The demo-like world the UI tests look at: a ``sloguard serve`` subprocess scraping its own
demo target every second, six hours of a ``shop`` service backfilled (``import_openmetrics``,
the code of ``sloguard import openmetrics``) with an error spike two hours ago, three SLOs (one with no data at all), and
two rollouts started through the API: ``shop-v2`` (aborted by shop's page alert) and
``demo-v2`` (paused at its second step, in progress)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from sloguard.ingest.backfill import import_openmetrics
from tests._net import free_port
from tests.e2e.conftest import SloguardProcess

SLOS = """
apiVersion: sloguard/v1
service: shop
slos:
  - name: shop-availability
    description: Shop requests answered without a server error.
    objective: 99%
    period: 1d
    grouping: [route]
    sli: {ratio: {bad: 'http_requests_total{job="shop",code=~"5.."}', total: 'http_requests_total{job="shop"}'}}
  - name: search-availability
    description: A new service that has sent no data yet.
    objective: 99.9%
    period: 7d
    sli: {ratio: {bad: 'search_requests_total{code=~"5.."}', total: 'search_requests_total'}}
---
apiVersion: sloguard/v1
service: demo
slos:
  - name: demo-availability
    objective: 99.5%
    period: 1d
    sli: {ratio: {bad: 'http_requests_total{job="demo",code=~"5.."}', total: 'http_requests_total{job="demo"}'}}
"""

CONFIG = """
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
scrape_configs:
  - job_name: demo
    metrics_path: /demo/metrics
    static_configs: [{{targets: ["127.0.0.1:{port}"]}}]
slo_files: ["slos.yml"]
"""

ROLLOUT = """
apiVersion: sloguard/v1
kind: Rollout
metadata: {{name: {name}}}
spec:
  service: {service}
  versions:
    stable: {{name: v1, upstreams: ["127.0.0.1:{up}"]}}
    canary: {{name: v2, upstreams: ["127.0.0.1:{up}"]}}
  router: {{type: proxy, proxy: {{port: {port}}}}}
  strategy:
    canary:
      steps: [{{setWeight: 10}}, {{pause: {{}}}}, {{setWeight: 50}}]
"""

#: The backfill: six hours at one sample a minute, two routes.
HOURS, ROUTES = 6, {"/cart": 20.0, "/pay": 5.0}
#: Errors: 0.2% of requests, 8% during 20 minutes two hours before the end.
BASE_ERRORS, SPIKE_ERRORS, SPIKE_AGO_S, SPIKE_S = 0.002, 0.08, 2 * 3600, 20 * 60


def backfill_text(end: int) -> str:
    """OpenMetrics counters of ``shop`` from ``end - HOURS`` to ``end``, one sample a minute."""
    lines = ["# TYPE http_requests counter"]
    start = end - HOURS * 3600
    for route, rps in ROUTES.items():
        ok = bad = 0.0
        rows: list[tuple[int, float, float]] = []
        for t in range(start, end + 1, 60):
            spike = end - SPIKE_AGO_S <= t < end - SPIKE_AGO_S + SPIKE_S
            share = SPIKE_ERRORS if spike and route == "/pay" else BASE_ERRORS
            ok += rps * 60 * (1 - share)
            bad += rps * 60 * share
            rows.append((t, ok, bad))
        for code, col in (("200", 1), ("500", 2)):
            lines += [f'http_requests_total{{job="shop",route="{route}",code="{code}"}} {r[col]:.0f} {r[0]}' for r in rows]
    return "\n".join(lines) + "\n# EOF\n"


@dataclass
class World:
    server: SloguardProcess
    backfill_end: int

    @property
    def url(self) -> str:
        return self.server.url

    def api(self, path: str, **params: str) -> object:
        r = httpx.get(f"{self.url}{path}", params=params, timeout=30)
        r.raise_for_status()
        return r.json()["data"]


def start_world(root: Path) -> World:
    end = int(time.time()) // 60 * 60
    data = root / "data"
    (root / "shop.om").write_text(backfill_text(end))
    import_openmetrics(root / "shop.om", data)  # what `sloguard import openmetrics` does, without a second process
    (root / "slos.yml").write_text(SLOS)
    server = SloguardProcess(data, root / "sloguard.yml", root / "sloguard.log")
    (root / "sloguard.yml").write_text(CONFIG.format(port=server.port))
    server.start()
    _wait_for_first_evaluation(server.url)
    for name, service in (("shop-v2", "shop"), ("demo-v2", "demo")):  # shop's page alert aborts shop-v2 at once
        spec = ROLLOUT.format(name=name, service=service, up=server.port, port=free_port())
        r = httpx.post(f"{server.url}/api/v1/rollouts", content=spec, params={"actor": "ui-tests"}, timeout=30)
        assert r.status_code == 201, r.text
    return World(server, end)


def _wait_for_first_evaluation(url: str, timeout_s: float = 30.0) -> None:
    """Until every SLO's alerting group (evaluated each second; the budget groups every five
    minutes) has been evaluated once: before that no SLO alert exists, and a page looked at
    first (a test file run on its own) would show none."""
    deadline = time.monotonic() + timeout_s
    while True:
        groups = [g for g in httpx.get(f"{url}/api/v1/rules", timeout=30).json()["data"]["groups"] if g["interval"] < 60]
        if groups and all(not g["lastEvaluation"].startswith("0001-") for g in groups):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the rule groups were not all evaluated within {timeout_s} s: {groups}")
        time.sleep(0.1)
