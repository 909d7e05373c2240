"""Throughput figures for the TSDB (not a test; run: python bench/bench_tsdb.py).

Prints commit throughput (2,000 existing series x 1 sample per commit, fsync per
commit), select time (4,500 series x 1,300 samples from the head and from blocks),
block bytes/sample and BlockWriter speed.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

import numpy as np

from sloguard.labels import Labels, Matcher
from sloguard.tsdb import TSDB, BlockWriter, TSDBOptions


def commit_throughput(path: str, commits: int = 300) -> float:
    db = TSDB.open(path, TSDBOptions(auto_compact=False))
    series = [Labels.of(name__="http_requests_total", job="api", instance=f"10.0.{i // 250}.{i % 250}:9100", code="200") for i in range(2000)]
    t0 = 1_700_000_000_000
    app = db.appender()
    for ls in series:
        app.append(ls, t0, 0.0)
    app.commit()
    start, cpu = time.perf_counter(), time.process_time()
    for c in range(1, commits + 1):
        app = db.appender()
        for i, ls in enumerate(series):
            app.append(ls, t0 + c * 1000, float(c * 10 + i))
        res = app.commit()
        assert res.appended == 2000, res
    took, cpu = time.perf_counter() - start, time.process_time() - cpu
    st = db.stats()
    print(f"- commit: {commits * 2000 / took:,.0f} samples/s wall (2000 series x 1 sample/commit, "
          f"fsync per commit: {st.wal_fsyncs_total} fsyncs, {st.wal_fsync_seconds_total / st.wal_fsyncs_total * 1000:.2f} ms avg); "
          f"{commits * 2000 / (took - st.wal_fsync_seconds_total):,.0f} samples/s excluding fsync waits, "
          f"{commits * 2000 / cpu:,.0f} samples per CPU second (appends + commits)")
    db.close()
    return commits * 2000 / took


def select_speed(path: str) -> None:
    n_series, n_samples, step = 4500, 1300, 15_000
    t0 = 1_700_000_000_000
    db = TSDB.open(path, TSDBOptions(auto_compact=False))
    ts = t0 + np.arange(n_samples, dtype=np.int64) * step
    rng = np.random.default_rng(1)
    app = db.appender()
    for i in range(n_series):
        vs = np.round(np.cumsum(rng.integers(0, 500, n_samples)) / 100, 2)
        app.append_many(Labels.of(name__="node_cpu_seconds_total", cpu=str(i % 8), instance=f"host{i // 8}"), ts, vs)
    app.commit()
    q = db.querier()
    m = [Matcher.equal("__name__", "node_cpu_seconds_total")]
    for label, lo, hi in (("all", t0, t0 + n_samples * step), ("1h window", t0 + 3_600_000, t0 + 7_200_000)):
        fn = lambda lo=lo, hi=hi: q.select(m, lo, hi)  # noqa: E731
        n = len(fn().timestamps)
        best = min(_timed(fn) for _ in range(7))
        print(f"- select head ({label}): {n_series} series, {n:,} samples in {best * 1000:.1f} CPU ms")
    db.close()
    bw_dir = os.path.join(path, "bw")
    bw = BlockWriter(bw_dir)
    start = time.process_time()
    for i in range(n_series):
        vs = np.round(np.cumsum(rng.integers(0, 500, n_samples)) / 100, 2)
        bw.add(Labels.of(name__="node_cpu_seconds_total", cpu=str(i % 8), instance=f"host{i // 8}"), ts, vs)
    bw.close()
    print(f"- BlockWriter: {n_series * n_samples:,} samples in {time.process_time() - start:.2f} CPU s")
    start = time.process_time()
    db = TSDB.open(bw_dir)
    opened = time.process_time() - start
    st = db.stats()
    print(f"- open {st.blocks} block(s), {st.block_bytes:,} bytes, every byte CRC32-verified: {opened * 1000:.1f} CPU ms")
    print(f"- blocks: {st.blocks}, {st.block_samples:,} samples, {st.bytes_per_sample:.3f} bytes/sample (counters)")
    q = db.querier()
    fn = lambda: q.select(m, t0, t0 + n_samples * step)  # noqa: E731
    cold = _timed(fn)
    best = min(_timed(fn) for _ in range(7))
    print(f"- select blocks: cold {cold * 1000:.1f} CPU ms, cached {best * 1000:.1f} CPU ms")
    db.close()


def _timed(fn: object) -> float:
    """CPU seconds of one call (wall time is meaningless on a shared, loaded machine)."""
    s = time.process_time()
    fn()  # type: ignore[operator]
    return time.process_time() - s


if __name__ == "__main__":
    print("## Embedded TSDB (bench_tsdb.py)\n")
    print(f"- machine: {os.cpu_count()} cores (os.cpu_count()), python {sys.version.split()[0]}; times are CPU time")
    with tempfile.TemporaryDirectory() as d:
        commit_throughput(os.path.join(d, "c"))
        select_speed(os.path.join(d, "s"))
