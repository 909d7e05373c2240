"""SLO specs named by the config are served: rules generated and evaluated, budgets at
/api/v1/slos, a broken spec left out (with its problem logged) while the others run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import wait_until

pytestmark = pytest.mark.slow

GOOD = """
apiVersion: sloguard/v1
service: demo
slos:
  - name: demo-availability
    objective: 99.5
    grouping: [route]
    sli: {ratio: {bad: 'http_requests_total{job="demo",code="500"}', total: 'http_requests_total{job="demo"}'}}
"""
BROKEN = """
apiVersion: sloguard/v1
service: demo
slos:
  - name: demo-perfect
    objective: 100
    sli: {ratio: {bad: 'http_requests_total{code="500"}', total: 'http_requests_total'}}
"""


def _config(port: int) -> str:
    return f"""
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
scrape_configs:
  - job_name: demo
    metrics_path: /demo/metrics
    static_configs: [{{targets: ["127.0.0.1:{port}"]}}]
slo_files: ["slos/*.yml"]
"""


def test_slo_files_are_generated_evaluated_and_reported(sloguard_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "slos").mkdir()
    (tmp_path / "slos" / "good.yml").write_text(GOOD)
    (tmp_path / "slos" / "broken.yml").write_text(BROKEN)
    p = sloguard_factory("")
    (tmp_path / "sloguard.yml").write_text(_config(p.port))
    p.extra_args = ["--web.enable-lifecycle"]  # POST /-/reload below
    p.start()

    names = [s["name"] for s in httpx.get(f"{p.url}/api/v1/slos").json()["data"]]
    assert names == ["demo-availability"]
    assert "objective 100% is out of range" in p.logs()
    generated = (tmp_path / "data" / "generated" / "slo.rules.yml").read_text()
    assert "sloguard-slo-demo-availability" in generated

    def evaluated() -> bool:
        groups = httpx.get(f"{p.url}/api/v1/rules").json()["data"]["groups"]
        g = next((g for g in groups if g["name"] == "sloguard-slo-demo-availability"), None)
        return g is not None and all(r["health"] == "ok" for r in g["rules"]) and g["lastEvaluation"] > "2000"

    wait_until(evaluated, 30, "the SLO rule group to evaluate cleanly")

    def budgets() -> list[dict]:  # type: ignore[type-arg]
        return httpx.get(f"{p.url}/api/v1/slos/demo-availability").json()["data"]["budgets"]

    wait_until(lambda: budgets() and budgets()[0]["status"] == "ok", 30, "a budget with data")
    routes = {b["labels"]["route"] for b in budgets()}
    assert "/api/checkout" in routes
    b = budgets()[0]
    assert 0 < b["sli"] <= 1 and b["errorBudget"]["remainingRatio"] is not None
    one = httpx.get(f"{p.url}/api/v1/slos/demo-availability").json()["data"]
    assert one["alerts"] == [] or {a["tier"] for a in one["alerts"]} <= {"page", "ticket", "no-data"}
    report = subprocess.run([sys.executable, "-m", "sloguard.cli", "slo", "report", "--url", p.url],
                            capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "200"})
    assert report.returncode == 0, report.stderr
    assert "demo-availability" in report.stdout and "/api/checkout" in report.stdout

    # fix the broken spec and reload: both SLOs run
    (tmp_path / "slos" / "broken.yml").write_text(BROKEN.replace("objective: 100", "objective: 99"))
    assert httpx.post(f"{p.url}/-/reload").status_code == 200
    names = [s["name"] for s in httpx.get(f"{p.url}/api/v1/slos").json()["data"]]
    assert sorted(names) == ["demo-availability", "demo-perfect"]
    assert httpx.get(f"{p.url}/api/v1/slos/nope").status_code == 404
