"""Per-SLO query backends against a real VictoriaMetrics: a server with
``query_backends: {vm: ...}`` runs two SLOs on the same metric name; one names the backend
(its SLI series are only in VictoriaMetrics), the other reads the server's store: the
embedded one (its series written to the server), or in ruler mode the server's own backend,
a real Prometheus (its series written there; the outputs go back to it). Each SLO's rules
record its own error ratio, and its budget and history come from where its SLI lives."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from sloguard.ingest.remote_write import encode_write_request
from sloguard.labels import Labels
from tests._net import free_port
from tests.remote._peers import prometheus, victoria_metrics

pytestmark = [pytest.mark.peer, pytest.mark.slow]

SLOS = """
apiVersion: sloguard/v1
service: shop
slos:
  - name: remote-avail
    objective: 99%
    query_backend: vm
    sli:
      ratio:
        bad: 'http_requests_total{job="a",code="500"}'
        total: 'http_requests_total{job="a"}'
  - name: local-avail
    objective: 99%
    sli:
      ratio:
        bad: 'http_requests_total{job="b",code="500"}'
        total: 'http_requests_total{job="b"}'
"""


def _counters(job: str, bad_per_s: float, now_ms: int) -> list[tuple[Labels, Any, Any]]:
    """Ten minutes of two counters every 15 s: 10 requests/s, ``bad_per_s`` of them errors."""
    ts = np.arange(now_ms - 600_000, now_ms + 1, 15_000, dtype=np.int64)
    secs = (ts - ts[0]) / 1000
    ok = Labels.of(__name__="http_requests_total", job=job, code="200")
    bad = Labels.of(__name__="http_requests_total", job=job, code="500")
    return [(ok, ts, secs * (10 - bad_per_s)), (bad, ts, secs * bad_per_s)]


def _wait(check: Callable[[], Any], what: str, timeout_s: float = 40) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _ready(url: str) -> bool:
    try:
        return httpx.get(url + "/-/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _query(url: str, expr: str) -> dict[str, float]:
    body = httpx.get(url + "/api/v1/query", params={"query": expr}, timeout=10).json()
    assert body["status"] == "success", body
    return {r["metric"].get("slo", r["metric"].get("job", "")): float(r["value"][1]) for r in body["data"]["result"]}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("mode", ["embedded", "ruler"])
def test_an_slo_reads_its_named_backend_while_another_reads_the_servers_store(tmp_path: Path, mode: str) -> None:
    now_ms = int(time.time() * 1000)
    with victoria_metrics(tmp_path / "vm") as vm, ExitStack() as stack:
        vm.write(encode_write_request(_counters("a", 1.0, now_ms)))
        vm.flush()
        (tmp_path / "slos.yml").write_text(SLOS)
        config = ("global: {evaluation_interval: 1s}\nslo_files: [slos.yml]\n"
                  f"query_backends: {{vm: {{url: '{vm.url}', timeout: 10s}}}}\n")
        args = []
        if mode == "ruler":
            prom = stack.enter_context(prometheus(tmp_path / "prom"))
            prom.write(encode_write_request(_counters("b", 2.0, now_ms)))
            config += (f"query_backend: {{url: '{prom.url}', timeout: 10s}}\n"
                       f"remote_write: [{{url: '{prom.write_url}', queue_config: {{batch_send_deadline: 100ms}}}}]\n")
            args = ["--mode", "ruler"]
        (tmp_path / "sloguard.yml").write_text(config)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        log = (tmp_path / "sloguard.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "sloguard.cli", "serve", "--config", str(tmp_path / "sloguard.yml"),
             "--data-dir", str(tmp_path / "data"), "--listen", f"127.0.0.1:{port}", "--log.level", "warn", *args],
            stdout=subprocess.DEVNULL, stderr=log)
        try:
            _wait(lambda: proc.poll() is not None or _ready(url), "sloguard to start", timeout_s=60)
            assert proc.poll() is None, (tmp_path / "sloguard.log").read_text()[-2000:]
            if mode == "embedded":
                r = httpx.post(url + "/api/v1/write", content=encode_write_request(_counters("b", 2.0, now_ms)),
                               headers={"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf"})
                assert r.status_code == 204, r.text
            assert _query(url, 'http_requests_total{job="a"}') == {}  # only the backend has it
            assert set(_query(url, 'http_requests_total{job="b"}')) == {"b"}
            ratios = _wait(lambda: (got := _query(url, "slo:sli_error:ratio_rate5m")) and len(got) == 2 and got,
                           "both SLOs' recorded error ratios")
            assert ratios == pytest.approx({"remote-avail": 0.1, "local-avail": 0.2}, rel=1e-9)
            slos = {s["name"]: s for s in httpx.get(url + "/api/v1/slos", timeout=30).json()["data"]}
            assert slos["remote-avail"]["queryBackend"] == "vm" and "queryBackend" not in slos["local-avail"]
            for name, ratio in (("remote-avail", 0.1), ("local-avail", 0.2)):
                (row,) = slos[name]["budgets"]
                assert row["status"] != "no data", row
                assert row["totalEvents"] == pytest.approx(6000, rel=0.05), row
                assert row["badEvents"] / row["totalEvents"] == pytest.approx(ratio, rel=1e-6), row
            start, end = now_ms / 1000 - 300, now_ms / 1000
            hist = httpx.get(url + "/api/v1/slos/remote-avail/history",
                             params={"start": start, "end": end, "step": "60"}, timeout=30).json()
            assert hist["status"] == "success", hist
            (series,) = hist["data"]["series"]
            assert series["burnRates"]["5m"][-1] == pytest.approx(10.0, rel=1e-9)  # 0.1 / the 1% budget
            assert series["sli"][-1] == pytest.approx(0.9, rel=1e-9)
        finally:
            proc.terminate()
            proc.wait(20)
            log.close()
