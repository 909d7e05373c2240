#!/usr/bin/env python3
"""Mixed load: 8 remote-write senders and 4 query readers at once, against ``sloguard serve``.

The server runs in its own process (by default started here from the current checkout, on a
temporary data dir with a config that scrapes nothing, WAL fsync before every 204; or the
one at ``--url``). In this process, ``--writers`` sender threads post Prometheus-like
WriteRequests (bench_remote_write's templates: 2,000 series x 1 sample per request, each
sender its own series) as fast as they are acknowledged, while ``--readers`` threads loop
over a mix of ``/api/v1/query`` and ``/api/v1/query_range`` over the data being written
(``sum by (...) (rate(...[1m]))``, ``topk``, ``max``). Before the measurement every sender
backfills one minute of history so the range functions have data. Prints a markdown
section: acknowledged samples/s, write and query latency p50/p99, errors, server CPU and
peak RSS (VmHWM; with ``--url``, only if ``--pid`` names the server's process).

    .venv/bin/python bench/bench_mixed.py [--seconds 30] [--writers 8] [--readers 4] [--url URL --pid PID]
"""

from __future__ import annotations

import argparse
import http.client
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_remote_write import SERIES_PER_REQUEST, Template, _cpu_seconds, _free_port, _wait_up  # noqa: E402

CONFIG = "global: {scrape_interval: 15s}\nscrape_configs: []\n"
HEADERS = {"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
           "X-Prometheus-Remote-Write-Version": "0.1.0"}
BACKFILL_POINTS, BACKFILL_STEP_MS = 10, 6_000  # one minute of history per sender before the run
#: (endpoint, expression); range queries cover the last five minutes at a 15 s step.
QUERIES = [
    ("query", "sum by (instance) (rate(node_cpu_seconds_total[1m]))"),
    ("query_range", "sum by (cpu) (rate(http_requests_total[1m]))"),
    ("query", "topk(5, sum by (instance) (rate(node_network_receive_bytes_total[1m])))"),
    ("query_range", "max by (instance) (process_resident_memory_bytes)"),
    ("query", "count by (instance) (go_goroutines)"),
    ("query_range", "sum(rate(node_cpu_seconds_total[1m]))"),
]


@dataclass
class Target:
    host: str
    port: int
    pid: int | None


@dataclass
class Worker:
    """What one thread saw: latencies of its successful requests, its errors, its samples."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    error_count: int = 0
    samples: int = 0

    def fail(self, text: str) -> None:
        self.error_count += 1
        if len(self.errors) < 3:
            self.errors.append(text)


def _writer(target: Target, idx: int, stop_at: float, out: Worker, backfill: bool) -> None:
    tpl, rng = Template(idx), np.random.default_rng(idx)
    conn = http.client.HTTPConnection(target.host, target.port, timeout=60)
    now = int(time.time() * 1000)
    stamps = [now - (BACKFILL_POINTS - i) * BACKFILL_STEP_MS for i in range(BACKFILL_POINTS)] if backfill else []
    last = now
    try:
        while stamps or time.monotonic() < stop_at:
            t = stamps.pop(0) if stamps else max(int(time.time() * 1000), last + 1)
            last = max(last, t)
            body = tpl.body(t, rng.uniform(1, 1e6, SERIES_PER_REQUEST))
            t0 = time.perf_counter()
            conn.request("POST", "/api/v1/write", body, HEADERS)
            resp = conn.getresponse()
            text = resp.read()
            if resp.status == 204:
                out.latencies.append(time.perf_counter() - t0)
                out.samples += SERIES_PER_REQUEST
            else:
                out.fail(f"write {resp.status}: {text[:150]!r}")
    except (OSError, http.client.HTTPException) as e:
        out.fail(f"writer {idx} stopped: {type(e).__name__}: {e}")
    finally:
        conn.close()


def _reader(target: Target, idx: int, stop_at: float, out: Worker) -> None:
    conn = http.client.HTTPConnection(target.host, target.port, timeout=60)
    i = idx
    try:
        while time.monotonic() < stop_at:
            kind, expr = QUERIES[i % len(QUERIES)]
            i += 1
            now = time.time()
            params = {"query": expr, "time": f"{now:.3f}"} if kind == "query" else {
                "query": expr, "start": f"{now - 300:.3f}", "end": f"{now:.3f}", "step": "15"}
            t0 = time.perf_counter()
            conn.request("GET", f"/api/v1/{kind}?{urllib.parse.urlencode(params)}")
            resp = conn.getresponse()
            text = resp.read()
            if resp.status == 200:
                out.latencies.append(time.perf_counter() - t0)
            else:
                out.fail(f"{kind} {resp.status}: {text[:150]!r}")
    except (OSError, http.client.HTTPException) as e:
        out.fail(f"reader {idx} stopped: {type(e).__name__}: {e}")
    finally:
        conn.close()


def _run_threads(target: Target, a: argparse.Namespace) -> tuple[list[Worker], list[Worker], float, float | None]:
    """Backfill, then the measured run: (writers, readers, seconds, server CPU-seconds or None)."""
    warm = [Worker() for _ in range(a.writers)]
    threads = [threading.Thread(target=_writer, args=(target, i, 0.0, warm[i], True)) for i in range(a.writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop_at = time.monotonic() + a.seconds
    writers, readers = [Worker() for _ in range(a.writers)], [Worker() for _ in range(a.readers)]
    threads = [threading.Thread(target=_writer, args=(target, i, stop_at, w, False)) for i, w in enumerate(writers)]
    threads += [threading.Thread(target=_reader, args=(target, i, stop_at, r)) for i, r in enumerate(readers)]
    cpu0 = _cpu_seconds(target.pid) if target.pid else None
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    cpu1 = _cpu_seconds(target.pid) if target.pid else None
    return writers, readers, elapsed, (cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None)


def _peak_rss_mb(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


@contextmanager
def _own_server() -> Iterator[Target]:
    with tempfile.TemporaryDirectory(prefix="sloguard-bench-mixed-") as tmp:
        port = _free_port()
        Path(tmp, "sloguard.yml").write_text(CONFIG)
        cmd = [sys.executable, "-c", "from sloguard.cli import main; main()", "serve",
               "--config", str(Path(tmp, "sloguard.yml")), "--data-dir", str(Path(tmp, "data")),
               "--listen", f"127.0.0.1:{port}", "--log.level", "error"]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        try:
            _wait_up(port, proc)
            time.sleep(1.0)  # the storage opens after the port does
            yield Target("127.0.0.1", port, proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def _pct(xs: list[float], q: float) -> str:
    return f"{np.percentile(np.asarray(xs) * 1000, q):,.0f} ms" if xs else "n/a"


def _report(a: argparse.Namespace, writers: list[Worker], readers: list[Worker], elapsed: float,
            cpu: float | None, rss: float | None, server: str, load: tuple[float, float]) -> None:
    samples = sum(w.samples for w in writers)
    wlat = [x for w in writers for x in w.latencies]
    qlat = [x for r in readers for x in r.latencies]
    errors = [e for w in writers + readers for e in w.errors]
    n_err = sum(w.error_count for w in writers + readers)
    print(f"## Mixed load: {a.writers} writers, {a.readers} readers (bench_mixed.py)\n")
    print(f"- machine: {os.cpu_count()} cores (os.cpu_count()); server: {server}; clients in another process")
    print(f"- machine load average (1m) before/after the run: {load[0]:.2f} / {load[1]:.2f} (other processes share the cores)")
    print(f"- load: {a.writers} senders x {SERIES_PER_REQUEST} series x 1 sample per request as fast as acknowledged, "
          f"and {a.readers} readers looping over {len(QUERIES)} queries (instant and 5 min range at 15 s: "
          f"sum by/rate[1m], topk, max, count), {a.seconds:.0f}s after one minute of backfilled history")
    print(f"- **{samples / elapsed:,.0f} acknowledged samples/s** ({samples:,} samples in {len(wlat):,} writes); "
          f"write latency p50 {_pct(wlat, 50)}, p99 {_pct(wlat, 99)}")
    print(f"- **query latency p50 {_pct(qlat, 50)}, p99 {_pct(qlat, 99)}** ({len(qlat):,} queries, "
          f"{len(qlat) / elapsed:.1f}/s)")
    print(f"- errors: {n_err}" + (f" (first: {errors[:3]})" if errors else ""))
    cpu_text = f"{cpu / elapsed:.2f} cores busy" if cpu is not None else "n/a (no --pid)"
    rss_text = f"{rss:,.0f} MB" if rss is not None else "n/a (no --pid)"
    print(f"- server CPU: {cpu_text}; server peak RSS (VmHWM): {rss_text}")


def main() -> int:
    ap = argparse.ArgumentParser(description="Mixed load: remote-write senders and query readers at once.")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--writers", type=int, default=8)
    ap.add_argument("--readers", type=int, default=4)
    ap.add_argument("--url", help="an already-running server (default: start one from this checkout)")
    ap.add_argument("--pid", type=int, help="with --url: the server's process id, for CPU and peak RSS")
    a = ap.parse_args()
    if a.url:
        u = urllib.parse.urlsplit(a.url)
        server = f"`sloguard serve` at {a.url}"
        ctx = _external(Target(u.hostname or "127.0.0.1", u.port or 80, a.pid))
    else:
        server = "`sloguard serve` from this checkout (no scrapes, no rules, WAL fsync before every 204)"
        ctx = _own_server()
    with ctx as target:
        load0 = os.getloadavg()
        writers, readers, elapsed, cpu = _run_threads(target, a)
        rss = _peak_rss_mb(target.pid)
        load1 = os.getloadavg()
    _report(a, writers, readers, elapsed, cpu, rss, server, (load0[0], load1[0]))
    return 0 if sum(w.samples for w in writers) else 1


@contextmanager
def _external(target: Target) -> Iterator[Target]:
    yield target


if __name__ == "__main__":
    raise SystemExit(main())
