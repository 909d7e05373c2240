#!/usr/bin/env python3
"""Remote-write ingestion throughput: samples/s acknowledged with fsync per request.

Starts the remote-write receiver on the real TSDB (default options: WAL fsync before
each 204) in a subprocess (uvicorn on 127.0.0.1, free port), then several sender
threads in this process post Prometheus-like WriteRequests (2,000 series x 1 sample per
request; each sender owns its series, like a Prometheus shard) for ``--seconds``.
Request bodies are built from a pre-encoded template whose values and timestamps are
patched with numpy, so the senders spend little CPU. Prints a markdown section.

    .venv/bin/python bench/bench_remote_write.py [--seconds 20] [--senders 4]
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cramjam
import numpy as np

SERIES_PER_REQUEST = 2000
METRICS = ["node_cpu_seconds_total", "node_network_receive_bytes_total", "http_requests_total",
           "process_resident_memory_bytes", "go_goroutines"]


def _varint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field(tag: int, payload: bytes) -> bytes:
    return bytes([tag]) + _varint(len(payload)) + payload


class Template:
    """A WriteRequest body with fixed layout: value/timestamp offsets are known."""

    def __init__(self, sender: int) -> None:
        body = bytearray()
        self.val_off: list[int] = []
        self.ts_off: list[int] = []
        for i in range(SERIES_PER_REQUEST):
            labels = {
                "__name__": METRICS[i % len(METRICS)], "job": "node",
                "instance": f"host-{sender}-{i // 50}:9100", "cpu": str(i % 50),
                "mode": "user", "env": "prod", "region": "eu-west-1",
            }
            lab = b"".join(_field(0x0A, _field(0x0A, k.encode()) + _field(0x12, v.encode()))
                           for k, v in sorted(labels.items()))
            sample = b"\x09" + b"\x00" * 8 + b"\x10" + b"\x80" * 5 + b"\x01"  # 6-byte varint
            entry = lab + _field(0x12, sample)
            head = b"\x0a" + _varint(len(entry))
            start = len(body) + len(head) + len(lab) + 2
            self.val_off.append(start + 1)
            self.ts_off.append(start + 10)
            body += head + entry
        self.raw = np.frombuffer(bytes(body), np.uint8).copy()
        self.vi = np.asarray(self.val_off)[:, None] + np.arange(8)
        self.ti = np.asarray(self.ts_off)[:, None] + np.arange(6)

    def body(self, t_ms: int, values: np.ndarray) -> bytes:
        assert 2**35 <= t_ms < 2**42, "timestamp must be a 6-byte varint"
        raw = self.raw.copy()
        raw[self.vi] = values.astype("<f8").view(np.uint8).reshape(-1, 8)
        ts = [(t_ms >> (7 * j)) & 0x7F | (0x80 if j < 5 else 0) for j in range(6)]
        raw[self.ti] = np.asarray(ts, np.uint8)
        return bytes(cramjam.snappy.compress_raw(raw.tobytes()))


def _serve(port: int, data_dir: str) -> None:
    import uvicorn
    from starlette.applications import Starlette

    from sloguard.api import _write
    from sloguard.api._context import ServerContext
    from sloguard.tsdb import TSDB

    db = TSDB.open(data_dir)
    app = Starlette(routes=_write.routes(ServerContext(storage=db)))
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _cpu_seconds(pid: int) -> float | None:
    """User+system CPU seconds of a process (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _in_process(requests: int = 300) -> tuple[float, float]:
    """Decode + commit (fsync) without HTTP, one thread: (samples/s wall, samples/CPU-s)."""
    from sloguard.ingest.remote_write import RemoteWriteDecoder, apply
    from sloguard.tsdb import TSDB

    tpls = [Template(i) for i in range(4)]
    rng = np.random.default_rng(9)
    t0 = int(time.time() * 1000)
    bodies = [tpls[i % 4].body(t0 + i, rng.uniform(1, 1e6, SERIES_PER_REQUEST)) for i in range(requests)]
    dec = RemoteWriteDecoder()
    with tempfile.TemporaryDirectory(prefix="sloguard-bench-rw-inproc-") as tmp:
        db = TSDB.open(tmp)
        for b in bodies[:4]:
            apply(db, dec.decode(b))
        w0, c0 = time.perf_counter(), time.process_time()
        for b in bodies[4:]:
            res = apply(db, dec.decode(b))
            if res.rejected_total:
                raise SystemExit(f"in-process run rejected samples: {res.errors[:2]}")
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        db.close()
    n = (requests - 4) * SERIES_PER_REQUEST
    return n / wall, n / cpu


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_up(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("server did not come up within 30s")


class Sender(threading.Thread):
    def __init__(self, idx: int, port: int, stop_at: float) -> None:
        super().__init__(daemon=True)
        self.tpl = Template(idx)
        self.port, self.stop_at = port, stop_at
        self.samples = 0
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.rng = np.random.default_rng(idx)

    def run(self) -> None:
        try:
            self._send_until_stop()
        except Exception as e:  # noqa: BLE001 - a dead sender must show in the report, not vanish
            self.errors.append(f"sender {threading.current_thread().name} failed: {type(e).__name__}: {e}")

    def _send_until_stop(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
                   "X-Prometheus-Remote-Write-Version": "0.1.0"}
        last = 0
        while time.monotonic() < self.stop_at:
            t = max(int(time.time() * 1000), last + 1)
            last = t
            body = self.tpl.body(t, self.rng.uniform(1, 1e6, SERIES_PER_REQUEST))
            t0 = time.perf_counter()
            conn.request("POST", "/api/v1/write", body, headers)
            resp = conn.getresponse()
            text = resp.read()
            self.latencies.append(time.perf_counter() - t0)
            if resp.status == 204:
                self.samples += SERIES_PER_REQUEST
            elif len(self.errors) < 3:
                self.errors.append(f"{resp.status}: {text[:200]!r}")
        conn.close()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--senders", type=int, default=4)
    ap.add_argument("--server", choices=["serve", "routes"], default="serve",
                    help="'serve': the real 'sloguard serve' (bundled config); 'routes': only the write route")
    ap.add_argument("--serve", nargs=2, metavar=("PORT", "DIR"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.serve:
        _serve(int(a.serve[0]), a.serve[1])
        return 0
    with tempfile.TemporaryDirectory(prefix="sloguard-bench-rw-") as tmp:
        port = _free_port()
        if a.server == "serve":
            cmd = [sys.executable, "-c", "from sloguard.cli import main; main()", "serve",
                   "--data-dir", tmp, "--listen", f"127.0.0.1:{port}", "--log.level", "error"]
        else:
            cmd = [sys.executable, __file__, "--serve", str(port), tmp]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
        try:
            _wait_up(port, proc)
            load0 = os.getloadavg()
            # warm-up: every sender's series set, so the label caches and the head's series
            # exist before the measurement (steady state, as with a long-running Prometheus)
            for i in range(a.senders):
                Sender(i, port, time.monotonic() + 0.3).run()
            cpu0 = _cpu_seconds(proc.pid)
            start = time.monotonic()
            senders = [Sender(i, port, start + a.seconds) for i in range(a.senders)]
            for s in senders:
                s.start()
            for s in senders:
                s.join()
            elapsed = time.monotonic() - start
            cpu1 = _cpu_seconds(proc.pid)
            load1 = os.getloadavg()
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        wal = sum(f.stat().st_size for f in Path(tmp, "wal").glob("*") if f.is_file())
    samples = sum(s.samples for s in senders)
    inproc_wall, inproc_cpu = _in_process()
    lat = np.array([x for s in senders for x in s.latencies]) * 1000
    errors = [e for s in senders for e in s.errors]
    rate = samples / elapsed
    print("## Remote-write ingestion (bench_remote_write.py)\n")
    server = ("`sloguard serve` (bundled config)" if a.server == "serve"
              else "the write route alone on uvicorn")
    print(f"- machine: {os.cpu_count()} cores (os.cpu_count()); server: {server}, real TSDB with "
          "WAL fsync before every 204; senders in another process")
    print(f"- machine load average (1m) before/after the run: {load0[0]:.2f} / {load1[0]:.2f} "
          "(other processes share the cores)")
    print(f"- load: {a.senders} concurrent senders x {SERIES_PER_REQUEST} series x 1 sample per "
          f"request, {a.seconds:.0f}s, Prometheus-like labels (7 per series)")
    print(f"- **{rate:,.0f} samples/s** acknowledged ({samples:,} samples in {len(lat):,} requests, "
          f"{len(lat) / elapsed:.0f} req/s); target >= 300,000 samples/s: "
          f"{'met' if rate >= 300_000 else 'NOT met'}")
    if len(lat):
        print(f"- request latency: p50 {np.percentile(lat, 50):.1f} ms, p99 {np.percentile(lat, 99):.1f} ms")
    if cpu0 is not None and cpu1 is not None and len(lat):
        cpu = cpu1 - cpu0
        print(f"- server CPU: {cpu / elapsed:.2f} cores busy, {cpu / len(lat) * 1000:.1f} ms CPU per request "
              f"(= {samples / cpu:,.0f} samples per CPU-second)")
    print(f"- without HTTP (decode + commit with fsync, one thread, in-process): {inproc_wall:,.0f} samples/s "
          f"wall, {inproc_cpu:,.0f} samples per CPU-second")
    print(f"- WAL bytes written: {wal:,} ({wal / max(samples, 1):.2f} bytes/sample)")
    if errors:
        print(f"- non-204 answers (first): {errors}")
    return 0 if not errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
