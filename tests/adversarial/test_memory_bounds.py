"""Issue 8, item 4: queries and bodies cannot exhaust memory, and a timed-out query stops.

Scaled down from the issue (200k series) to 1,000 series x 1 h at 30 s, on a server with
``--query.max-samples 200000`` (and a 1 MiB form-body limit, an 8 MiB decompressed-body
limit); each attack states its bound on the growth of the server's peak RSS (VmHWM, reset
before the attack, minus VmRSS before it). The timeout attack runs on a second server with
``--query.timeout 2s`` and no practical sample limit, so only the timeout can stop it.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from pathlib import Path

import cramjam
import pytest

from sloguard.ingest.remote_write import encode_write_request
from tests.adversarial.conftest import (
    FLAG_STATUS_KEY,
    TIMEOUT_ERROR,
    TOO_MANY_SAMPLES,
    Acked,
    Server,
    attack_window,
    config_text,
    cpu_seconds,
    flag_args,
    peak_growth_mb,
    raw_post,
)

pytestmark = [pytest.mark.adversarial, pytest.mark.timeout(90)]

SERIES, STEP_S, SAMPLES = 1000, 30, 120  # one hour of "mem" (a counter rising 1/s per series)
FLAG_VALUES = {"max_samples": "200000", "max_concurrency": "2"}
TIMEOUT_FLAGS = {"query_timeout": "2s", "max_samples": "1000000000"}
QUERY_BODY_LIMIT = 1 << 20
DECOMPRESSED_LIMIT = 8 << 20
# bounds on peak RSS growth (MB), per attack
REFUSED_QUERY_MB = 50
RATE_RANGE_MB = 64  # base: 701 MB (3,600 steps x 1,000 series)
BODY_MB = 16
BOMB_MB = 24  # base: 132 MB
# the timeout attack has no sample limit: only its 2 s bound its growth (base: +984 MB and on)
TIMEOUT_GROWTH_MB = 600
TIMEOUT_LEFT_MB = 64  # what it may still hold 2 s after its 503


@functools.cache
def _mem_bodies(now_ms: int) -> list[bytes]:
    ts = [now_ms - (SAMPLES - j) * STEP_S * 1000 for j in range(SAMPLES)]
    values = [float(STEP_S * j) for j in range(SAMPLES)]
    return [
        encode_write_request([((("__name__", "mem"), ("i", str(k))), ts, values) for k in range(part, part + 250)])
        for part in range(0, SERIES, 250)
    ]


class MemServer:
    """A server holding one hour of ``mem`` (1,000 series) and a few acknowledged samples."""

    def __init__(self, tmp: Path, conf: str, args: list[str], now: float) -> None:
        self.server = Server(tmp, conf, args).start()
        self.acked = Acked("adv_mem")
        self.acked.seed(self.server)
        self.now = now
        for body in _mem_bodies(int(now * 1000)):
            assert self.server.write(body, timeout=60).status_code == 204
        # warm-up (lazy imports, thread pools, caches), so the attacks measure only themselves
        self.acked.verify(self.server)
        with self.server.client(timeout=30) as c:
            c.post("/api/v1/query_range", data={"query": "sum(rate(mem[5m])) * 2", "start": f"{now - 600:.3f}",
                                                "end": f"{now:.3f}", "step": "60"})


_NOW = time.time()


@pytest.fixture(scope="module")
def mem(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MemServer]:
    conf = config_text(query_max_body=QUERY_BODY_LIMIT, rw_max_decompressed=DECOMPRESSED_LIMIT)
    holder = MemServer(tmp_path_factory.mktemp("mem"), conf, flag_args(**FLAG_VALUES), _NOW)
    yield holder
    holder.server.stop(timeout_s=5.0)


@pytest.fixture()
def slow(tmp_path: Path) -> Iterator[MemServer]:
    holder = MemServer(tmp_path, config_text(), flag_args(**TIMEOUT_FLAGS), _NOW)
    yield holder
    holder.server.kill()


def _range(mem: MemServer, expr: str, step: str) -> dict[str, str]:
    return {"query": expr, "start": f"{mem.now - 3600:.3f}", "end": f"{mem.now:.3f}", "step": step}


def test_query_limits_are_set_by_flags(mem: MemServer) -> None:
    status, body = mem.server.get_json("/api/v1/status/flags")
    assert status == 200
    for key, value in FLAG_VALUES.items():
        assert body["data"].get(FLAG_STATUS_KEY[key]) == value, f"{FLAG_STATUS_KEY[key]} not {value}: {body}"



def test_small_step_over_many_series_is_refused_before_allocating(mem: MemServer) -> None:
    server = mem.server
    with attack_window(server, mem.acked), peak_growth_mb(server) as grew:
        t0 = time.monotonic()
        with server.client(timeout=15) as c:
            r = c.post("/api/v1/query_range", data=_range(mem, "mem * 2", "1s"))
        took = time.monotonic() - t0
    assert r.status_code == 422, f"3.6M output samples answered {r.status_code}: {r.text[:200]}"
    assert r.json()["errorType"] == "execution" and TOO_MANY_SAMPLES in r.json()["error"], r.text[:300]
    assert took < 3.0, f"refusing took {took:.1f}s"
    assert grew[0] < REFUSED_QUERY_MB, f"peak RSS grew {grew[0]:.0f} MB for a refused query"


def test_rate_over_a_long_range_is_refused_or_answered_with_bounded_memory(mem: MemServer) -> None:
    """At a 1 s step ``rate`` holds 3.6M samples, over the 200,000 limit: refused, as
    Prometheus refuses it, after one chunk's allocation; at a 60 s step it fits and answers."""
    server = mem.server
    with attack_window(server, mem.acked), peak_growth_mb(server) as grew, server.client(timeout=15) as c:
        r = c.post("/api/v1/query_range", data=_range(mem, "sum(rate(mem[5m]))", "1s"))
    assert grew[0] < RATE_RANGE_MB, f"peak RSS grew {grew[0]:.0f} MB for one output series"
    assert r.status_code == 422 and TOO_MANY_SAMPLES in r.json()["error"], r.text[:300]
    with server.client(timeout=15) as c:
        r = c.post("/api/v1/query_range", data=_range(mem, "sum(rate(mem[5m]))", "60s"))
    assert r.status_code == 200, r.text[:300]
    values = r.json()["data"]["result"][0]["values"]
    assert abs(float(values[-1][1]) - SERIES) < SERIES * 0.01, f"sum of {SERIES} rates of 1/s is {values[-1]}"


def test_a_timed_out_subquery_stops_using_cpu(slow: MemServer) -> None:
    server, mem = slow.server, slow
    _, flags = server.get_json("/api/v1/status/flags")
    assert flags["data"].get(FLAG_STATUS_KEY["query_timeout"]) == "2s", flags
    expr = "max_over_time(rate(mem[5m])[1h:50ms])"  # 72M subquery points: seconds of work
    before = server.rss_mb()
    with attack_window(server, mem.acked, max_growth_mb=TIMEOUT_GROWTH_MB):
        t0 = time.monotonic()
        with server.client(timeout=20) as c:
            r = c.post("/api/v1/query", data={"query": expr, "time": f"{mem.now:.3f}"})
        took = time.monotonic() - t0
        time.sleep(2.0)
        cpu0 = cpu_seconds(server.pid)
        left = server.rss_mb() - before
        time.sleep(2.0)
        busy = cpu_seconds(server.pid) - cpu0
    assert left < TIMEOUT_LEFT_MB, f"2 s after its timeout the query still holds {left:.0f} MB (busy {busy:.2f} CPU-s, took {took:.1f}s, {r.status_code})"
    assert r.status_code == 503, f"the subquery answered {r.status_code}: {r.text[:200]}"
    assert r.json()["errorType"] == "timeout" and TIMEOUT_ERROR in r.json()["error"], r.text[:300]
    assert busy < 0.2, f"the server used {busy:.2f} CPU-s in 2 s, 2 s after the timeout (the query kept running)"
    assert took < 3.5, f"the 2s timeout answered after {took:.1f}s (the engine did not stop at its deadline)"


def test_a_huge_form_body_gets_413(mem: MemServer) -> None:
    server = mem.server
    body = b"query=" + b"1" * (32 << 20)
    with attack_window(server, mem.acked), peak_growth_mb(server) as grew:
        status, text = raw_post(server.port, "/api/v1/query",
                                {"Content-Type": "application/x-www-form-urlencoded"}, body)
    assert status == 413, f"a 32 MB form got {status}: {text[:200]!r}"
    assert grew[0] < BODY_MB, f"peak RSS grew {grew[0]:.0f} MB for a refused body"


def test_a_snappy_bomb_gets_400(mem: MemServer) -> None:
    server = mem.server
    bomb = bytes(cramjam.snappy.compress_raw(b"\0" * (64 << 20)))
    with attack_window(server, mem.acked), peak_growth_mb(server) as grew:
        status, text = raw_post(server.port, "/api/v1/write", {
            "Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
            "X-Prometheus-Remote-Write-Version": "0.1.0"}, bomb)
    assert grew[0] < BOMB_MB, f"peak RSS grew {grew[0]:.0f} MB for a {len(bomb):,}-byte body expanding to 64 MiB"
    assert status == 400, f"a {len(bomb):,}-byte body expanding to 64 MiB got {status}: {text[:200]!r}"
