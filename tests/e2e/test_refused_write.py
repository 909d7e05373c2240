"""The adversarial remote write of issue 8 against a real server: a series with a
65,536-byte label name gets a 400 naming it, and afterwards writes and scrapes go on,
SIGTERM exits cleanly and a restart replays everything acknowledged."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from sloguard.ingest.remote_write import encode_write_request
from sloguard.labels import Labels
from tests.e2e.conftest import SloguardProcess, requires_tsdb, wait_until

pytestmark = [pytest.mark.slow, requires_tsdb()]

HEADERS = {
    "Content-Type": "application/x-protobuf",
    "Content-Encoding": "snappy",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
}
# Label limits off: only the storage's own bounds stand between the request and the WAL.
CONFIG = """
global: {{scrape_interval: 1s, scrape_timeout: 1s}}
scrape_configs:
  - job_name: self
    static_configs: [{{targets: ["127.0.0.1:{port}"]}}]
storage:
  tsdb: {{fsync: per_commit}}
remote_write_receiver: {{label_limit: 0, label_name_length_limit: 0, label_value_length_limit: 0}}
"""


def _write(server: SloguardProcess, series: list[tuple[Labels, list[int], list[float]]]) -> httpx.Response:
    body = encode_write_request(series)
    return httpx.post(f"{server.url}/api/v1/write", content=body, headers=HEADERS, timeout=10)


def _query(server: SloguardProcess, expr: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{server.url}/api/v1/query", params={"query": expr}, timeout=10)
    assert r.status_code == 200, r.text
    result: list[dict[str, Any]] = r.json()["data"]["result"]
    return result


def _scraped_since(server: SloguardProcess, t: float) -> bool:
    got = _query(server, 'timestamp(up{job="self"})')
    return bool(got) and float(got[0]["value"][1]) >= t


def test_a_label_name_the_wal_cannot_hold_is_refused_and_ingestion_goes_on(
    sloguard_factory: Callable[..., SloguardProcess],
) -> None:
    server = sloguard_factory()
    assert server.config is not None
    server.config.write_text(CONFIG.format(port=server.port))
    server.start()
    now = int(time.time() * 1000)
    good = Labels.of(name__="rw_good", job="a")
    bad = Labels([("__name__", "rw_bad"), ("n" * 65_536, "x")])
    for attempt in range(2):  # senders retry; the retry must get the same clean answer
        r = _write(server, [(good, [now + attempt], [1.0]), (bad, [now], [2.0])])
        assert r.status_code == 400, r.text
        assert "rw_bad{" in r.text and "...(65536 bytes)" in r.text and "65535 bytes per label name" in r.text
    assert _write(server, [(good, [now + 10], [3.0])]).status_code == 204
    attacked = time.time()
    wait_until(lambda: _scraped_since(server, attacked), 15, "a scrape after the refused write")
    assert server.stop() == 0
    assert "Traceback" not in server.logs()

    restarted = sloguard_factory(None)  # same data dir; its own port
    restarted.config = server.config
    server.config.write_text(CONFIG.format(port=restarted.port))
    restarted.start()
    got = _query(restarted, "count_over_time(rw_good[1h])")
    assert [float(s["value"][1]) for s in got] == [3.0]
    assert _query(restarted, "rw_bad") == []
    assert restarted.stop() == 0
    assert "Traceback" not in restarted.logs()
