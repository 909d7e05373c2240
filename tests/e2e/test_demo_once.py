"""`sloguard demo --once` as a real subprocess: the demo's abort and promote flows.

The canary of v2 (1.8% errors and a slow tail, which a fixed 5% threshold misses) must be
aborted by the judges with their reason stored, and the healthy v3 promoted to 100%; seen
in the printed summary and through the server's API while it runs; the exit code is 0.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests._net import free_port

pytestmark = pytest.mark.slow

BOUND_S = 90.0


def _rollouts(url: str) -> dict[str, dict[str, Any]]:
    try:
        r = httpx.get(f"{url}/api/v1/rollouts", timeout=2.0)
    except httpx.HTTPError:
        return {}
    if r.status_code != 200:
        return {}
    return {v["name"]: v for v in r.json()["data"]}


def test_demo_once_aborts_v2_by_the_judges_and_promotes_v3(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-c", "from sloguard.cli import main; main()", "demo", "--once",
           "--port", str(port), "--data-dir", str(tmp_path / "data"), "--linger", "3"]
    began = time.monotonic()
    out_path = tmp_path / "out.txt"
    with out_path.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    seen: dict[str, dict[str, Any]] = {}
    explain = ""
    slos: list[str] = []
    try:
        while proc.poll() is None and time.monotonic() - began < BOUND_S:
            for name, view in _rollouts(url).items():
                seen[name] = view
            if seen.get("checkout-v2", {}).get("phase") == "Degraded" and not explain:
                explain = httpx.get(f"{url}/api/v1/rollouts/checkout-v2/explain", timeout=5).json()["data"]["text"]
                slos = [s["name"] for s in httpx.get(f"{url}/api/v1/slos", timeout=5).json()["data"]]
            time.sleep(0.2)
        code = proc.wait(timeout=max(1.0, BOUND_S - (time.monotonic() - began)))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    elapsed = time.monotonic() - began
    out = out_path.read_text(errors="replace")
    assert code == 0, out
    assert elapsed < BOUND_S
    # the printed summary
    assert "Summary: OK: v2 aborted by the judges, v3 promoted" in out
    assert "✓ checkout-v2  Degraded (expected Degraded)" in out
    assert "✓ checkout-v3  Healthy (expected Healthy)" in out
    assert "judge errors: sequential fail (p = " in out or "judge latency-p99: tail fail (p = " in out
    # the API while it ran: v2 aborted by the background judges with the reason stored, v3 at 100%
    v2, v3 = seen["checkout-v2"], seen["checkout-v3"]
    assert v2["phase"] == "Degraded" and v2["canaryWeight"] == 0
    assert v2["message"].startswith("Aborted: The background analysis ended Failed")
    assert v3["phase"] == "Healthy" and v3["canaryWeight"] == 100
    assert "fail" in explain and "p-value" in explain
    assert {"checkout-availability", "checkout-latency"} <= set(slos)
