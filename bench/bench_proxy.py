#!/usr/bin/env python3
"""The built-in proxy's added latency and maximum throughput against nginx, in one run.

One origin (nginx answering ``200 ok`` itself, or a tiny asyncio server when nginx is
missing) sits behind two proxies: sloguard's built-in proxy (``ProxyRouter``, in its own
process, stable -> origin) and nginx configured by ``NginxRouter`` (stable and canary ->
origin, weight 0). The same generators measure all three targets (origin direct, the
built-in proxy, nginx):

- latency at a fixed rate (``RATE`` requests/s, default 1,000): a bounded asyncio
  generator on keep-alive connections, each request sent on its schedule (or at once
  when late), timed from send to the last byte of the answer; p50 and p99, and the
  proxies' added latency (their percentile minus the origin's). The connections'
  schedules are staggered so a request leaves every 1/RATE s, as a constant-rate load
  generator (wrk2) does; ``BENCH_PROXY_BURST=1`` starts them together instead (8
  requests at once every 8 ms, the pattern of runs before 2026-12-03);
- the built-in proxy twice when uvloop is installed: on the default loop and on uvloop;
- every figure the median of ``ROUNDS`` (3) rounds, the targets interleaved;
- maximum requests/s: ``wrk`` (closed loop, 1 thread, 32 connections) when installed,
  else the asyncio generator without a rate limit.

Prints a markdown section. The machine's cores are shared with the generator and the
origin, so figures are for comparison within one run. Not a test.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sloguard.delivery.routers.nginx import NginxConfig, NginxRouter  # noqa: E402

RATE = int(os.environ.get("BENCH_PROXY_RATE", "1000"))
SECONDS = float(os.environ.get("BENCH_PROXY_SECONDS", "5"))
CONNS = 8
BURST = os.environ.get("BENCH_PROXY_BURST") == "1"
ROUNDS = int(os.environ.get("BENCH_PROXY_ROUNDS", "3"))
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
WRK = shutil.which("wrk")
UVLOOP = importlib.util.find_spec("uvloop") is not None
USER = "nobody nogroup" if os.geteuid() == 0 else None

PROXY_MAIN = """
import asyncio, os, sys
from sloguard.delivery.routers.proxy import ProxyConfig, ProxyRouter, Version
if os.environ.get("BENCH_PROXY_UVLOOP") == "1":
    import uvloop
    uvloop.install()
async def main():
    p = ProxyRouter(ProxyConfig("bench", Version("v1", (sys.argv[1],)), port=int(sys.argv[2])))
    await p.start()
    print("ready", flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""
ORIGIN_MAIN = """
import asyncio, sys
async def serve(r, w):
    try:
        while True:
            await r.readuntil(b"\\r\\n\\r\\n")
            w.write(b"HTTP/1.1 200 OK\\r\\nContent-Length: 3\\r\\n\\r\\nok\\n")
    except Exception:
        w.close()
async def main():
    s = await asyncio.start_server(serve, "127.0.0.1", int(sys.argv[1]))
    print("ready", flush=True)
    await s.serve_forever()
asyncio.run(main())
"""


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn(code: str, *args: str, **extra_env: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **extra_env}
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def start_origin(tmp: Path) -> tuple[str, object]:
    port = free_port()
    if NGINX is None:
        return f"127.0.0.1:{port}", spawn(ORIGIN_MAIN, str(port))
    conf = tmp / "origin.conf"
    (tmp / "origin").mkdir()
    conf.write_text(
        (f"user {USER};\n" if USER else "") + f"worker_processes 1;\npid {tmp}/origin.pid;\n"
        f"error_log {tmp}/origin.err;\nevents {{ worker_connections 4096; }}\n"
        f"http {{ access_log off; client_body_temp_path {tmp}/origin; proxy_temp_path {tmp}/origin;\n"
        f"  fastcgi_temp_path {tmp}/origin; uwsgi_temp_path {tmp}/origin; scgi_temp_path {tmp}/origin;\n"
        f"  keepalive_requests 1000000;\n"
        f"  server {{ listen 127.0.0.1:{port}; location / {{ return 200 \"ok\\n\"; }} }} }}\n"
    )
    subprocess.run([NGINX, "-p", str(tmp), "-c", str(conf)], check=True)
    return f"127.0.0.1:{port}", conf


async def _conn_loop(port: int, deadline: float, interval: float, offset: float, out: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    req = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
    nxt = time.perf_counter() + offset
    while (now := time.perf_counter()) < deadline:
        if interval and nxt > now:
            await asyncio.sleep(nxt - now)
        t0 = time.perf_counter()
        writer.write(req)
        head = await reader.readuntil(b"\r\n\r\n")
        n = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
        await reader.readexactly(n)
        out.append(time.perf_counter() - t0)
        nxt += interval
    writer.close()


async def generate(port: int, rate: float | None, seconds: float, conns: int) -> list[float]:
    """Latencies of every request sent in ``seconds`` (at ``rate`` req/s in total, or flat
    out). The connections' schedules are staggered (connection i starts i/rate seconds
    late), so requests arrive one every 1/rate seconds rather than ``conns`` at once
    (``BENCH_PROXY_BURST=1``: all connections start together, as before 2026-12-03)."""
    out: list[float] = []
    deadline = time.perf_counter() + seconds
    interval = conns / rate if rate else 0.0
    step = 0.0 if BURST or not rate else 1 / rate
    await asyncio.gather(*(_conn_loop(port, deadline, interval, i * step, out) for i in range(conns)))
    return out


def wrk_rps(port: int) -> float:
    res = subprocess.run([str(WRK), "-t1", "-c32", f"-d{int(SECONDS)}s", f"http://127.0.0.1:{port}/"],
                         capture_output=True, text=True, check=True)
    m = re.search(r"Requests/sec:\s*([\d.]+)", res.stdout)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: .*", res.stdout)
    if errors:
        log(f"wrk on port {port}: {errors.group(0)}")
    return float(m.group(1)) if m else float("nan")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far (from /proc)."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def measure(port: int, pids: list[int]) -> tuple[float, float, float, int, float]:
    asyncio.run(generate(port, RATE, 1.0, CONNS))  # warm-up: connections, pools, caches
    cpu0 = cpu_seconds(pids)
    lat = asyncio.run(generate(port, RATE, SECONDS, CONNS))
    cpu_us = (cpu_seconds(pids) - cpu0) / len(lat) * 1e6 if pids else float("nan")
    q = statistics.quantiles(lat, n=100)
    if WRK:
        rps = wrk_rps(port)
    else:
        flat = asyncio.run(generate(port, None, SECONDS, 32))
        rps = len(flat) / SECONDS
    return q[49] * 1000, q[98] * 1000, rps, len(lat), cpu_us


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="bench-proxy-"))
    origin, handle = start_origin(tmp)
    targets: dict[str, tuple[int, list[int]]] = {"origin (direct)": (int(origin.rsplit(":", 1)[1]), [])}
    procs: list[subprocess.Popen[str]] = []
    nginx = None
    try:
        for name, flag in [("sloguard proxy (asyncio loop)", "0")] + ([("sloguard proxy (uvloop)", "1")] if UVLOOP else []):
            port = free_port()
            procs.append(spawn(PROXY_MAIN, origin, str(port), BENCH_PROXY_UVLOOP=flag))
            targets[name] = (port, [procs[-1].pid])
        if NGINX:
            nginx = NginxRouter(NginxConfig("bench", tmp / "nginx", (origin,), (origin,),
                                            listen=f"127.0.0.1:{free_port()}", binary=NGINX, user=USER))
            nginx.start()
            time.sleep(0.3)
            master = int((tmp / "nginx" / "nginx.pid").read_text())
            kids = [int(k) for k in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
            targets["nginx (NginxRouter)"] = (int(nginx.config.listen.rsplit(":", 1)[1]), kids)
        runs: dict[str, list[tuple[float, float, float, int, float]]] = {name: [] for name in targets}
        for r in range(ROUNDS):  # interleaved, so a noisy moment hits every target alike
            for name, (port, pids) in targets.items():
                log(f"round {r + 1}/{ROUNDS}: {name}")
                runs[name].append(measure(port, pids))
    finally:
        for proc in procs:
            proc.terminate()
        if nginx is not None:
            nginx.stop()
        if isinstance(handle, Path):
            subprocess.run([str(NGINX), "-p", str(tmp), "-c", str(handle), "-s", "quit"], check=False)
        elif isinstance(handle, subprocess.Popen):
            handle.terminate()
    rows = {name: tuple(statistics.median(col) for col in zip(*rs, strict=True)) for name, rs in runs.items()}
    print_table(rows)
    return 0


def print_table(rows: dict[str, tuple[float, float, float, int, float]]) -> None:
    base50, base99, *_ = rows["origin (direct)"]
    gen = "wrk -t1 -c32" if WRK else "the asyncio generator, 32 connections, no rate limit"
    pattern = (f"the {CONNS} connections send together, a burst every {CONNS * 1000 / RATE:g} ms" if BURST
               else f"connections staggered: one request every {1000 / RATE:g} ms")
    print("## Traffic routers: the built-in proxy against nginx (bench_proxy.py)\n")
    print(f"{os.cpu_count()} cores shared by generator, origin and proxy; load average {os.getloadavg()[0]:.2f}. "
          f"Latency at {RATE} requests/s for {SECONDS:g} s on {CONNS} keep-alive connections "
          f"(asyncio generator, send to last byte; {pattern}); max requests/s by {gen} for {SECONDS:g} s. "
          f"Medians of {ROUNDS} interleaved rounds. "
          f"Origin: {'nginx returning 200 itself' if NGINX else 'a tiny asyncio server'}. "
          f"{'The built-in proxy runs once on the default asyncio loop and once on uvloop (optional, installed).' if UVLOOP else 'uvloop is not installed: the default asyncio loop only.'}\n")
    print("| target | requests | p50 ms | p99 ms | added p50 ms | added p99 ms | proxy CPU µs/request | max requests/s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, (p50, p99, rps, n, cpu) in rows.items():
        added = ("", "") if name.startswith("origin") else (f"{p50 - base50:.3f}", f"{p99 - base99:.3f}")
        cpu_text = "" if cpu != cpu else f"{cpu:.0f}"
        print(f"| {name} | {n:.0f} | {p50:.3f} | {p99:.3f} | {added[0]} | {added[1]} | {cpu_text} | {rps:,.0f} |")
    print("\nTarget: the built-in proxy adds under 1 ms at p50 at 1,000 requests/s.")


if __name__ == "__main__":
    raise SystemExit(main())
