"""``sloguard serve --mode ruler`` against a real Prometheus: the API reads the backend (a
series only the backend has), rules evaluate against it, and their outputs (a recording
that reads another rule's output, ``ALERTS_FOR_STATE``) arrive back in the backend through
remote write, with read-your-writes inside a group evaluation (the restore of ``for`` state
from the backend is checked in test_ruler_restore)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from sloguard.ingest.remote_write import encode_write_request
from sloguard.labels import Labels
from tests._net import free_port
from tests.remote._peers import Peer, prometheus

pytestmark = [pytest.mark.peer, pytest.mark.slow]

RULES = """
groups:
  - name: probes
    interval: 1s
    rules:
      - record: job:probe:sum
        expr: sum by (job) (probe_value)
      - record: job:probe:double
        expr: job:probe:sum * 2
      - alert: ProbeHigh
        expr: job:probe:sum > 1
        for: 30m
"""


FOR_STATE = 'ALERTS_FOR_STATE{alertname="ProbeHigh"}'


def _wait(check: Callable[[], Any], what: str, timeout_s: float = 20) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _raw(peer: Peer, selector: str) -> list[tuple[float, str]]:
    body = httpx.get(peer.url + "/api/v1/query", params={"query": f"{selector}[10m]"}).json()
    result = body["data"]["result"]
    return [(float(t), v) for t, v in result[0]["values"]] if result else []


def _serve(tmp: Path, peer: Peer) -> tuple[subprocess.Popen[bytes], str]:
    (tmp / "rules.yml").write_text(RULES)
    (tmp / "sloguard.yml").write_text(
        "global: {evaluation_interval: 1s}\nrule_files: [rules.yml]\n"
        f"query_backend: {{url: '{peer.url}', timeout: 10s}}\n"
        f"remote_write: [{{url: '{peer.write_url}', queue_config: {{batch_send_deadline: 100ms}}}}]\n")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sloguard.cli", "serve", "--config", str(tmp / "sloguard.yml"),
         "--data-dir", str(tmp / "data"), "--listen", f"127.0.0.1:{port}", "--mode", "ruler", "--log.level", "warn"],
        stdout=subprocess.DEVNULL, stderr=(tmp / "sloguard.log").open("wb"))
    url = f"http://127.0.0.1:{port}"
    _wait(lambda: proc.poll() is not None or _ready(url), "sloguard to start", timeout_s=45)
    assert proc.poll() is None, (tmp / "sloguard.log").read_text()[-2000:]
    return proc, url


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(20)


def _ready(url: str) -> bool:
    try:
        return httpx.get(url + "/-/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def test_ruler_reads_the_backend_and_writes_outputs_back(tmp_path: Path) -> None:
    with prometheus(tmp_path / "prom") as peer:
        now = int(time.time() * 1000)
        probe = Labels.of(__name__="probe_value", job="a")
        peer.write(encode_write_request([(probe, [now - 1000, now], [3.0, 3.0])]))
        proc, url = _serve(tmp_path, peer)
        try:
            answer = httpx.get(url + "/api/v1/query", params={"query": "probe_value"}).json()
            assert [r["value"][1] for r in answer["data"]["result"]] == ["3"]  # only the backend has it
            series = httpx.get(url + "/api/v1/series", params={"match[]": "probe_value"}).json()
            assert series["data"] == [{"__name__": "probe_value", "job": "a"}]
            values = httpx.get(url + "/api/v1/label/job/values", params={"match[]": "probe_value"}).json()
            assert values["data"] == ["a"]
            doubled = _wait(lambda: len(_raw(peer, 'job:probe:double{job="a"}')) >= 3 and
                            _raw(peer, 'job:probe:double{job="a"}'), "the ruler's outputs in Prometheus")
            sums = dict(_raw(peer, 'job:probe:sum{job="a"}'))
            assert {v for _, v in doubled} == {"6"}
            assert all(t in sums for t, _ in doubled)  # each evaluation read the sum it had just written
            assert min(sums) == min(t for t, _ in doubled)  # from the very first evaluation on
            config = httpx.get(url + "/api/v1/status/config").json()["data"]["yaml"]
            assert "mode: ruler" in config and peer.url in config
            metrics = httpx.get(url + "/metrics").text
            reads = [ln for ln in metrics.splitlines() if ln.startswith("sloguard_remote_read_requests_total{")]
            assert reads and float(reads[0].split()[-1]) >= 3
            assert _wait(lambda: _raw(peer, FOR_STATE), "ALERTS_FOR_STATE in Prometheus")
        finally:
            _stop(proc)
