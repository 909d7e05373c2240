"""Evaluation timestamps are slotted exactly like a real Prometheus' (group hash offset)."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from sloguard.rules import Group, ManagerOptions
from tests._net import free_port


@pytest.mark.peer
def test_recorded_sample_timestamps_have_prometheus_offset(tmp_path: Path, opts: ManagerOptions) -> None:
    if shutil.which("prometheus") is None:
        pytest.skip("prometheus not on PATH")
    groups = "".join(
        f"  - name: slot-{i}\n    interval: 2s\n    rules:\n      - record: r{i}\n        expr: vector(1)\n"
        for i in range(3)
    )
    (tmp_path / "rules.yml").write_text("groups:\n" + groups)
    (tmp_path / "prom.yml").write_text("global: {evaluation_interval: 2s}\nrule_files: [rules.yml]\n")
    port = free_port()
    proc = subprocess.Popen(
        ["prometheus", f"--config.file={tmp_path / 'prom.yml'}", f"--web.listen-address=127.0.0.1:{port}",
         f"--storage.tsdb.path={tmp_path / 'data'}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    found: dict[int, list[int]] = {}
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(found) < 3:
            try:
                for i in range(3):
                    r = httpx.get(f"{base}/api/v1/query", params={"query": f"r{i}[30s]"}, timeout=2).json()
                    if r["data"]["result"]:
                        found[i] = [round(float(t) * 1000) for t, _ in r["data"]["result"][0]["values"]]
            except (httpx.HTTPError, KeyError, ValueError):
                pass
            time.sleep(0.3)
        file = httpx.get(f"{base}/api/v1/rules", timeout=2).json()["data"]["groups"][0]["file"]
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert len(found) == 3
    for i, stamps in found.items():
        g = Group(f"slot-{i}", file, 2000, 0, [], opts)
        want = g.eval_timestamp(stamps[0]) % 2000
        assert {t % 2000 for t in stamps} == {want}
        assert g.eval_timestamp(stamps[0] + 1) == stamps[0]
