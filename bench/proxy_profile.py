#!/usr/bin/env python3
"""Where the built-in proxy's time goes: one proxy process (default loop, or uvloop with
``--uvloop``) in front of nginx ``return 200`` (or a tiny asyncio origin), driven at
``--rate`` requests/s on 8 keep-alive connections for ``--seconds``; prints the proxy's
CPU µs per request and the client-side p50/p99, and with ``--profile FILE`` runs the
proxy under cProfile and prints its top functions. A tool, not part of ``make bench``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_proxy as bp  # noqa: E402

PROFILED = """
import asyncio, cProfile, os, signal, sys
from sloguard.delivery.routers.proxy import ProxyConfig, ProxyRouter, Version
if os.environ.get("BENCH_PROXY_UVLOOP") == "1":
    import uvloop
    uvloop.install()
import time
prof = cProfile.Profile(time.process_time) if sys.argv[3] else None
async def main():
    p = ProxyRouter(ProxyConfig("bench", Version("v1", (sys.argv[1],)), port=int(sys.argv[2])))
    await p.start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, stop.set)
    print("ready", flush=True)
    if prof: prof.enable()
    await stop.wait()
    if prof:
        prof.disable()
        prof.dump_stats(sys.argv[3])
asyncio.run(main())
"""


def cpu_split(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of a process so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=1000)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--uvloop", action="store_true")
    ap.add_argument("--profile", default="")
    ap.add_argument("--top", type=int, default=30)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="proxy-profile-"))
    origin, handle = bp.start_origin(tmp)
    port = bp.free_port()
    proc = bp.spawn(PROFILED, origin, str(port), args.profile, BENCH_PROXY_UVLOOP="1" if args.uvloop else "0")
    try:
        asyncio.run(bp.generate(port, args.rate, 1.0, bp.CONNS))
        cpu0 = cpu_split(proc.pid)
        lat = asyncio.run(bp.generate(port, args.rate, args.seconds, bp.CONNS))
        user, system = (b - a for a, b in zip(cpu0, cpu_split(proc.pid), strict=True))
        q = statistics.quantiles(lat, n=100)
        print(f"{len(lat)} requests; proxy CPU µs/request: user {user / len(lat) * 1e6:.0f}, system "
              f"{system / len(lat) * 1e6:.0f}; p50 {q[49] * 1000:.3f} ms, p99 {q[98] * 1000:.3f} ms")
        proc.send_signal(10)
        proc.wait(30)
    finally:
        proc.kill()
        if isinstance(handle, Path):
            subprocess.run([str(bp.NGINX), "-p", str(tmp), "-c", str(handle), "-s", "quit"], check=False)
        else:
            handle.terminate()  # type: ignore[attr-defined]
    if args.profile:
        pstats.Stats(args.profile).sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
