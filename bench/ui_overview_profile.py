#!/usr/bin/env python3
"""Where the overview's time goes with bench_ui.py's 1,001 SLOs. Phase ``serve``: start
``sloguard serve`` on the bench's data (kept in DIR), wait for its rules' first cycle, time
``/`` and each API call the overview makes over HTTP. Phase ``inproc``: open DIR's TSDB
(with the records the server wrote) in this process, no rule manager, and profile ``GET /``
with cProfile. Not a test: ``python bench/ui_overview_profile.py serve|inproc DIR``."""

from __future__ import annotations

import asyncio
import cProfile
import gc
import os
import pstats
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

import bench_ui  # noqa: E402

from sloguard._gctune import tune_for_server  # noqa: E402
from sloguard.ui._recorded import QUERIES  # noqa: E402

CALLS = [("/api/v1/slos", {"budgets": "false"}), ("/api/v1/rollouts", {})] + [
    ("/api/v1/query", {"query": q}) for q in QUERIES.values()]


def timed(client: httpx.Client, path: str, params: dict[str, str]) -> str:
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        r = client.get(path, params=params)
        times.append((time.perf_counter() - t0) * 1000)
    return f"{path} {params}: {r.status_code} {len(r.content) / 1024:.0f} KiB, ms {' '.join(f'{t:.0f}' for t in times)}"


def serve(root: Path) -> None:
    server, _ = bench_ui.build(root)
    try:
        assert server.proc is not None
        bench_ui.wait_idle(server.proc.pid)
        with httpx.Client(base_url=server.url, timeout=600) as c:
            for path, params in [("/", {})] + CALLS:
                print(timed(c, path, params), flush=True)
    finally:
        server.stop()


def _open(root: Path) -> tuple[Any, Any]:
    from sloguard.promql.engine import PromQLEngine
    from sloguard.tsdb import TSDB

    db = TSDB.open(root / "data")
    return db, PromQLEngine(db)


def rules(root: Path) -> None:
    """Evaluate every generated group once at the latest minute (the steady state: every
    SLO has its records), in file order (each SLO's ratio group before its budget group)."""
    from sloguard.rules import rule_manager_for

    db, engine = _open(root)
    try:
        m = rule_manager_for(db, engine, [str(root / "data" / "generated" / "slo.rules.yml")])
        groups = m.load_groups(m.files)
        now = int(time.time()) // 60 * 60_000
        t0 = time.process_time()
        for g in groups.values():
            g.eval(now)
        print(f"{len(groups)} groups evaluated in {time.process_time() - t0:.1f} CPU s", flush=True)
    finally:
        db.close()


async def _inproc(root: Path) -> None:
    from sloguard.api import ServerContext, create_app
    from sloguard.slo.loader import load_text

    slos, problems = load_text((root / "slos.yml").read_text(), "slos.yml")
    assert not problems, problems
    tune_for_server()  # the server's GC thresholds
    db, engine = _open(root)
    try:
        app = create_app(ServerContext(storage=db, engine=engine, slos=slos))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x", timeout=600) as c:
            await c.get("/")
            if os.environ.get("GC_FREEZE"):
                gc.freeze()  # what the server does once it is ready
            print(await atimed(c, "/", {}, 9), flush=True)
            for path, params in CALLS:
                print(await atimed(c, path, params), flush=True)
            prof = cProfile.Profile()
            prof.enable()
            await c.get("/")
            prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(50)
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
    finally:
        db.close()


async def atimed(client: httpx.AsyncClient, path: str, params: dict[str, str], n: int = 3) -> str:
    """Wall and CPU (every thread of this process) milliseconds of ``n`` requests, and their medians."""
    wall, cpu = [], []
    for _ in range(n):
        t0, c0 = time.perf_counter(), time.process_time()
        r = await client.get(path, params=params)
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    return (f"{path} {params}: {r.status_code} {len(r.content) / 1024:.0f} KiB, wall ms {' '.join(f'{t:.0f}' for t in wall)}"
            f" (median {statistics.median(wall):.0f}), CPU ms median {statistics.median(cpu):.0f}")


async def _dump(root: Path) -> None:
    from sloguard.api import ServerContext, create_app
    from sloguard.slo.loader import load_text

    slos, _ = load_text((root / "slos.yml").read_text(), "slos.yml")
    db, engine = _open(root)
    try:
        app = create_app(ServerContext(storage=db, engine=engine, slos=slos))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x", timeout=600) as c:
            html = (await c.get("/", params={"limit": "all"})).text
        for row in re.findall(r"<tr data-rank.*?</tr>", html, re.S):
            print(" ".join(re.findall(r'data-value="([^"]*)"', row)), " ".join(re.findall(r'<span class="label">([^<]*)</span>', row)))
    finally:
        db.close()


def dump(root: Path) -> None:
    """Every overview row's cell values (``/?limit=all``), one line each: to compare two versions."""
    asyncio.run(_dump(root))


def inproc(root: Path) -> None:
    asyncio.run(_inproc(root))


if __name__ == "__main__":
    {"serve": serve, "rules": rules, "inproc": inproc, "dump": dump}[sys.argv[1]](Path(sys.argv[2]))
