#!/usr/bin/env python3
"""Alerting throughput: 10,000 distinct alerts through the Alertmanager v2 API until every
one has reached a webhook receiver, for the real Alertmanager 0.25 and sloguard.

Each target gets the same config: group_by [alertname, instance] (every alert is its own
group, so 10,000 groups and 10,000 notifications), group_wait 0s, one webhook receiver
pointed at a capture server. The capture server (asyncio, keep-alive, in its own
process so it never competes with the posting clients for the GIL) counts the distinct
alerts it has seen firing and notes the moment the last one arrives. The alerts are
posted as 100 batches of 100 by 4 concurrent client tasks. The figure is the time from
the first POST until every alert has arrived; peak RSS is the server process' VmHWM.
Targets: ``am`` (prometheus-alertmanager), ``sloguard`` (``sloguard serve
--alerting.config``, state in SQLite in its data dir) and ``sloguard-pg`` (state in a
temporary PostgreSQL cluster); a target that cannot run here is skipped with the reason
printed. Prints a markdown section. Not a test.

    python bench/bench_alerting.py [--targets am,sloguard,sloguard-pg] [--alerts 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "src")]
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH")]))

import httpx  # noqa: E402
from tests.alerting._diff.target import (  # noqa: E402
    Target,
    alerting_api_missing,
    alertmanager_target,
    running,
    sloguard_target,
)

BATCH = 100
CLIENTS = 4
TIMEOUT_S = 600.0
CONFIG = """\
route:
  receiver: capture
  group_by: [alertname, instance]
  group_wait: 0s
  group_interval: 1m
  repeat_interval: 1h
receivers:
  - name: capture
    webhook_configs:
      - url: '{url}/hook'
"""


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# The capture server (its own process).

def _capture_main(port: Any, seen: Any, requests: Any, done_at: Any, expected: int) -> None:
    asyncio.run(_serve_capture(port, seen, requests, done_at, expected))


async def _serve_capture(port: Any, seen: Any, requests: Any, done_at: Any, expected: int) -> None:
    alerts: set[tuple[str, str]] = set()

    def record(body: bytes) -> None:
        for a in json.loads(body).get("alerts", []):
            if a.get("status") == "firing":
                labels = a["labels"]
                alerts.add((labels.get("alertname", ""), labels.get("instance", "")))
        requests.value += 1
        seen.value = len(alerts)
        if len(alerts) >= expected and done_at.value == 0.0:
            done_at.value = time.monotonic()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                record(await reader.readexactly(length))
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    port.value = server.sockets[0].getsockname()[1]
    async with server:
        await server.serve_forever()


@dataclass
class Capture:
    proc: Any
    port: Any
    seen: Any
    requests: Any
    done_at: Any

    @classmethod
    def start(cls, expected: int) -> Capture:
        ctx = mp.get_context("spawn")
        port, seen, requests = ctx.Value("i", 0), ctx.Value("i", 0), ctx.Value("i", 0)
        done_at = ctx.Value("d", 0.0)
        proc = ctx.Process(target=_capture_main, args=(port, seen, requests, done_at, expected), daemon=True)
        proc.start()
        while port.value == 0:
            time.sleep(0.01)
        return cls(proc, port, seen, requests, done_at)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port.value}"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.join(5)


# The load.

def batches(total: int) -> list[list[dict[str, Any]]]:
    alerts = [{"labels": {"alertname": f"Bench{i % 10}", "instance": f"host-{i // 10}", "severity": "page"},
               "annotations": {"summary": f"bench alert {i}"}} for i in range(total)]
    return [alerts[i:i + BATCH] for i in range(0, total, BATCH)]


async def post_all(url: str, work: list[list[dict[str, Any]]]) -> None:
    queue: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue()
    for b in work:
        queue.put_nowait(b)

    async def client() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=60.0) as http:
            while not queue.empty():
                batch = queue.get_nowait()
                resp = await http.post("/api/v2/alerts", json=batch)
                if resp.status_code != 200:
                    raise RuntimeError(f"POST /api/v2/alerts answered {resp.status_code}: {resp.text[:200]}")

    await asyncio.gather(*(client() for _ in range(CLIENTS)))


@dataclass(frozen=True)
class Result:
    target: str
    seconds: float
    post_seconds: float
    client_cpu_seconds: float
    notifications: int
    rss_mib: float
    server_cpu_seconds: float = float("nan")
    capture_cpu_seconds: float = float("nan")


def family(pid: int) -> list[int]:
    """``pid`` and the processes it started (sloguard's HTTP sender), for RSS and CPU."""
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            kids += [int(k) for k in (task / "children").read_text().split()]
        except OSError:
            continue
    return [pid, *(p for k in kids for p in family(k))]


def family_rss_mib(pid: int) -> float:
    """The sum of the peak RSS of ``pid`` and of the processes it started."""
    return sum(peak_rss_mib(p) for p in family(pid))


def family_cpu(pid: int, seen: dict[int, float]) -> float:
    """CPU seconds of ``pid`` and the processes it started, each process' last reading kept
    in ``seen`` (so a child's time counts even when it is read only once)."""
    for p in family(pid):
        try:
            seen[p] = cpu_seconds(p)
        except OSError:
            continue
    return sum(seen.values())


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process ``pid`` used so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(target: Target, total: int, workdir: Path) -> Result:
    capture = Capture.start(total)
    try:
        with running(target, CONFIG.format(url=capture.url), workdir, timeout_s=120) as server:
            work = batches(total)
            seen: dict[int, float] = {}
            server_cpu0, capture_cpu0 = family_cpu(server.proc.pid, seen), cpu_seconds(capture.proc.pid)
            t0, cpu0 = time.monotonic(), time.process_time()
            asyncio.run(post_all(server.url, work))
            posted, client_cpu = time.monotonic() - t0, time.process_time() - cpu0
            while capture.done_at.value == 0.0:
                if time.monotonic() - t0 > TIMEOUT_S:
                    raise RuntimeError(f"{target.name}: only {capture.seen.value} of {total} alerts "
                                       f"arrived within {TIMEOUT_S:.0f} s")
                time.sleep(0.02)
            return Result(target.name, capture.done_at.value - t0, posted, client_cpu, capture.requests.value,
                          family_rss_mib(server.proc.pid), family_cpu(server.proc.pid, seen) - server_cpu0,
                          cpu_seconds(capture.proc.pid) - capture_cpu0)
    finally:
        capture.stop()


# Targets and the report.

TARGETS = ("am", "sloguard", "sloguard-pg")


def prepare(name: str, sloguard_missing: str | None, cleanup: list[Any]) -> Callable[[], Target] | str:
    """How to make the target ``name`` for one run (every run gets fresh state: sloguard-pg
    a new empty database), or why it cannot run here (a PostgreSQL cluster it needs is
    started, and its cleanup added to ``cleanup``)."""
    if name == "am":
        am = alertmanager_target()
        return am.missing or (lambda: am)
    if sloguard_missing:
        return sloguard_missing
    if name == "sloguard":
        return sloguard_target
    from tests.state._pg import PgCluster, unavailable_reason

    reason = unavailable_reason()
    if reason:
        return reason
    cluster = PgCluster()
    cleanup.append(cluster.destroy)
    return lambda: sloguard_target(cluster.empty_database(), name=name)


def run_all(names: list[str], total: int, tmp: Path, repeat: int,
            sloguard_missing: str | None) -> dict[str, list[Result] | str]:
    """``repeat`` results per target (each run on fresh state), or why it was skipped. The
    runs go round by round (every target once per round), so a machine whose speed drifts
    over minutes (shared cores) slows every target alike."""
    cleanup: list[Any] = []
    try:
        makers = {name: prepare(name, sloguard_missing, cleanup) for name in names}
        results: dict[str, list[Result] | str] = {n: m if isinstance(m, str) else [] for n, m in makers.items()}
        for n, m in makers.items():
            if isinstance(m, str):
                log(f"bench_alerting: {n} skipped: {m}")
        for i in range(repeat):
            for name, make in makers.items():
                if isinstance(make, str):
                    continue
                log(f"bench_alerting: {name}, round {i + 1} of {repeat}")
                runs = results[name]
                assert isinstance(runs, list)
                runs.append(measure(make(), total, tmp / f"{name}-{i}"))
        return results
    finally:
        for done in cleanup:
            done()


def median_run(runs: list[Result]) -> Result:
    """The run with the median time, with the highest peak RSS of all runs."""
    mid = sorted(runs, key=lambda r: r.seconds)[len(runs) // 2]
    return dataclasses.replace(mid, rss_mib=max(r.rss_mib for r in runs))


def report(results: dict[str, list[Result] | str], total: int) -> str:
    am = results.get("am")
    base = median_run(am).seconds if isinstance(am, list) else None
    lines = [
        "## Alerting: 10,000 alerts to a webhook (bench_alerting.py)" if total == 10_000
        else f"## Alerting: {total:,} alerts to a webhook (bench_alerting.py)", "",
        f"- machine: {os.cpu_count()} cores (os.cpu_count()); load average (1m) at the end: {os.getloadavg()[0]:.2f}",
        f"- load: {total:,} distinct alerts, {total // BATCH} batches of {BATCH} over POST /api/v2/alerts from "
        f"{CLIENTS} concurrent clients; group_by [alertname, instance] (one group per alert), group_wait 0s; "
        "a webhook receiver to a local asyncio capture server in its own process",
        "- time: from the first POST until every alert has arrived at the capture server (ratio: target / Alertmanager, "
        "target <= 1.0); POST phase: until the last batch was accepted; peak RSS: VmHWM of the server process "
        "plus that of the processes it started (sloguard's HTTP sender); "
        "client CPU: the posting clients' CPU time (whether the clients or the server set the pace); server CPU: "
        "the server's user + system CPU from the first POST until the last alert arrived (all threads, and "
        "the processes it started); capture CPU: the same for the capture server's process; each "
        "target runs --repeat times on fresh state, round by round (every target once per round): the median "
        "time (all times in brackets) and the highest RSS", "",
        "| target | time to deliver all | ratio to Alertmanager | POST phase | webhook requests | peak RSS "
        "| client CPU | server CPU | capture CPU |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, runs in results.items():
        if isinstance(runs, str):
            lines.append(f"| {name} | skipped: {runs} | | | | | | | |")
            continue
        r = median_run(runs)
        each = ", ".join(f"{x.seconds:.2f}" for x in runs)
        ratio = f"{r.seconds / base:.2f}" if base else "n/a"
        lines.append(f"| {name} | {r.seconds:.2f} s ({each}) | {ratio} | {r.post_seconds:.2f} s | {r.notifications:,} "
                     f"| {r.rss_mib:.0f} MiB | {r.client_cpu_seconds:.2f} s | {r.server_cpu_seconds:.2f} s "
                     f"| {r.capture_cpu_seconds:.2f} s |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--targets", default=",".join(TARGETS), help=f"comma-separated subset of {','.join(TARGETS)}")
    parser.add_argument("--alerts", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per target (the median is reported)")
    args = parser.parse_args()
    names = [t.strip() for t in args.targets.split(",") if t.strip()]
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)} in --targets: expected some of {', '.join(TARGETS)}")
    with tempfile.TemporaryDirectory(prefix="sloguard-bench-alerting-") as tmp_name:
        tmp = Path(tmp_name)
        wants_sloguard = any(n.startswith("sloguard") for n in names)
        missing = alerting_api_missing(tmp / "probe") if wants_sloguard else None
        results = run_all(names, args.alerts, tmp, args.repeat, missing)
    print(report(results, args.alerts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
