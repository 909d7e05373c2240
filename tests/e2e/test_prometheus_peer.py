"""A real Prometheus scrapes a test target and remote-writes into sloguard: both hold the same
series and the same samples."""

from __future__ import annotations

import math
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from sloguard.labels import Labels, Matcher, MatchType
from sloguard.tsdb import stale_mask
from tests.e2e.conftest import SloguardProcess, free_port, requires_tsdb, wait_until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.peer,
    requires_tsdb(),
    pytest.mark.skipif(shutil.which("prometheus") is None, reason="prometheus binary not on PATH"),
]

Samples = dict[Labels, list[tuple[int, float]]]


class _Target(BaseHTTPRequestHandler):
    """An exposition that changes on every scrape; one series comes and goes (staleness)."""

    scrapes = 0

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        n = type(self).scrapes = type(self).scrapes + 1
        lines = [
            "# TYPE peer_requests_total counter",
            f'peer_requests_total{{path="/a"}} {n * 3}',
            f'peer_requests_total{{path="/b"}} {n * 7 + 0.25}',
            "# TYPE peer_temperature gauge",
            f"peer_temperature {math.sin(n) * 40:.6f}",
        ]
        if n % 2 == 0:
            lines.append(f"peer_flappy {n}")
        body = ("\n".join(lines) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def target() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Target)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture()
def start_prometheus(tmp_path: Path) -> Iterator[Callable[[str, str], str]]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(target: str, write_url: str) -> str:
        port = free_port()
        cfg = tmp_path / "prometheus.yml"
        cfg.write_text(
            "global: {scrape_interval: 1s, scrape_timeout: 500ms}\n"
            f"scrape_configs: [{{job_name: target, static_configs: [{{targets: ['{target}']}}]}}]\n"
            f"remote_write: [{{url: '{write_url}', queue_config: "
            "{batch_send_deadline: 200ms, min_backoff: 50ms, max_backoff: 500ms}}]\n"
        )
        log = (tmp_path / "prometheus.log").open("wb")
        procs.append(subprocess.Popen(
            ["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={tmp_path / 'prom'}",
             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
            stdout=log, stderr=log,
        ))
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: _ok(f"{url}/-/ready"), 30, "prometheus to become ready")
        return url

    yield start
    for p in procs:
        p.terminate()
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def _get(url: str, **params: Any) -> Any:
    r = httpx.get(url, params=params, timeout=5.0)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "success", body
    return body["data"]


def _series(url: str, **params: Any) -> set[Labels]:
    return {Labels.from_dict(s) for s in _get(f"{url}/api/v1/series", **{"match[]": '{job="target"}'}, **params)}


def _matrix(url: str, t: float) -> Samples:
    data = _get(f"{url}/api/v1/query", query='{job="target"}[5m]', time=f"{t:.3f}")
    assert data["resultType"] == "matrix"
    return {
        Labels.from_dict(s["metric"]): [(round(float(ts) * 1000), float(v)) for ts, v in s["values"]]
        for s in data["result"]
    }


def _stored(data_dir: Path, t_ms: int) -> Samples:
    """Raw samples from the TSDB opened on the data dir; stale markers are left out like
    Prometheus' range selection does."""
    from sloguard.tsdb import TSDB  # type: ignore[attr-defined]

    db = TSDB.open(data_dir)
    try:
        batch = db.querier().select([Matcher(MatchType.EQUAL, "job", "target")], t_ms - 300_000, t_ms)
    finally:
        db.close()
    out: Samples = {}
    for i in range(len(batch)):
        labels, ts, vs = batch.series(i)
        keep = ~stale_mask(np.asarray(vs))
        if keep.any():
            out[labels] = list(zip(ts[keep].tolist(), vs[keep].tolist(), strict=True))
    return out


def test_prometheus_remote_write_matches_prometheus(
    sloguard_factory: Callable[..., SloguardProcess],
    target: str,
    start_prometheus: Callable[[str, str], str],
) -> None:
    sloguard = sloguard_factory().start()
    prom = start_prometheus(target, f"{sloguard.url}/api/v1/write")

    def scrapes() -> int:
        result = _get(f"{prom}/api/v1/query", query='count_over_time(up{job="target"}[1m])')["result"]
        return int(float(result[0]["value"][1])) if result else 0

    wait_until(lambda: scrapes() >= 5, 30, "five Prometheus scrapes of the target")
    cut = time.time() - 1.0
    prom_series = _series(prom, end=f"{cut:.3f}")
    recent = _series(prom, start=f"{cut:.3f}")
    assert recent, "Prometheus has no recent samples"
    # Remote write keeps each series in order, so a series seen past `cut` is complete before it.
    wait_until(lambda: recent <= _series(sloguard.url, start=f"{cut:.3f}"), 20, "sloguard to catch up")

    assert _series(sloguard.url, end=f"{cut:.3f}") == prom_series
    expected = _matrix(prom, cut)
    assert sum(len(v) for v in expected.values()) >= 5 * 4
    assert _matrix(sloguard.url, cut) == expected  # through sloguard's query API
    assert sloguard.stop() == 0
    assert _stored(sloguard.data_dir, round(cut * 1000)) == expected  # through the querier
