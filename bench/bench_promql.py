#!/usr/bin/env python3
"""PromQL range-query benchmark: sloguard against a real Prometheus on the same data.

For each scale: generate the RED workload with ``shared/bench/gen_openmetrics.py`` (cached
under ``bench/out/``), backfill it into Prometheus (``promtool tsdb create-blocks-from
openmetrics``) and into sloguard (``sloguard import openmetrics``), start both servers,
and time every query of ``shared/bench/queries.txt`` as a range query over 5.5 h at a
60 s step (median of 3, as ``time_queries.py`` does: wall time of the HTTP request).
Prints a markdown section with per-query and total ratios sloguard/Prometheus and the
peak RSS (VmHWM) of both servers (the import runs in its own process before, so its
peak is not counted) with their ratio; at 45,000 series the target is a ratio <= 1.5.

Usage: bench_promql.py [--scales 1,10] [--repeats 3]
(``BENCH_PROMQL_SCALES=1,10`` does the same under ``make bench``). Scale 1 is
``--services 50 --instances 10`` (4,500 series); scale 10 is ``--services 500``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
SHARED = Path(os.environ.get("SLOGUARD_SHARED", ROOT.parent / "shared")) / "bench"
END_S = 1_700_000_000
RANGE_S = int(5.5 * 3600)
STEP_S = 60
INSTANCES = 10
SERIES_PER_INSTANCE = 2 + 7


@dataclass
class Timing:
    query: str
    seconds: float
    points: int
    status: str
    result: list[dict[str, Any]]


def same_result(a: list[dict[str, Any]], b: list[dict[str, Any]], rel: float = 1e-9) -> bool:
    """Same series and points, values equal within ``rel`` (NaN equals NaN)."""
    def index(res: list[dict[str, Any]]) -> dict[str, list[tuple[float, float]]]:
        return {json.dumps(s["metric"], sort_keys=True): [(float(t), float(v)) for t, v in s["values"]] for s in res}

    ia, ib = index(a), index(b)
    if ia.keys() != ib.keys():
        return False
    for k, pa in ia.items():
        pb = ib[k]
        if len(pa) != len(pb):
            return False
        for (ta, va), (tb, vb) in zip(pa, pb, strict=True):
            if ta != tb or not (va == vb or (math.isnan(va) and math.isnan(vb)) or abs(va - vb) <= rel * max(abs(va), abs(vb))):
                return False
    return True


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def sloguard_bin() -> str:
    local = Path(sys.executable).with_name("sloguard")
    return str(local) if local.exists() else "sloguard"


def generate(services: int) -> Path:
    om = OUT / f"red_{services}x{INSTANCES}.om"
    if not om.exists():
        log(f"generating {om.name}")
        tmp = om.with_suffix(".tmp")
        with tmp.open("w") as f:
            subprocess.run([sys.executable, str(SHARED / "gen_openmetrics.py"), "--services", str(services),
                            "--instances", str(INSTANCES), "--end", str(END_S)], stdout=f, check=True)
        tmp.rename(om)
    return om


def backfill(cmd: list[str], target: Path, reuse: bool = True) -> str:
    """Run a backfill (once, when ``reuse``: the directory is cached). Returns the time taken."""
    if reuse and target.exists() and any(target.iterdir()):
        return "cached"
    shutil.rmtree(target, ignore_errors=True)
    log(f"backfilling {target.name}")
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return f"{time.perf_counter() - t0:.1f} s"


class Server:
    def __init__(self, name: str, argv: list[str], port: int, logfile: Path) -> None:
        self.name, self.port = name, port
        self._log = logfile.open("w")
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:  # bounded wait for readiness
            if self.proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {self.proc.returncode}; see {logfile}")
            try:
                urllib.request.urlopen(f"{self.url}/-/ready", timeout=2).read()
                return
            except (OSError, urllib.error.URLError):
                time.sleep(0.2)
        raise RuntimeError(f"{name} did not become ready; see {logfile}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def peak_rss_mib(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


def time_query(url: str, query: str, repeats: int) -> Timing:
    params = urllib.parse.urlencode({"query": query, "start": END_S - RANGE_S, "end": END_S, "step": STEP_S})
    times, body = [], {}
    for _ in range(repeats):
        t0 = time.perf_counter()
        try:
            with urllib.request.urlopen(f"{url}/api/v1/query_range?{params}", timeout=600) as r:
                body = json.load(r)
        except urllib.error.HTTPError as e:
            body = json.loads(e.read() or b"{}")
        times.append(time.perf_counter() - t0)
    ok = body.get("status") == "success"
    result = body["data"]["result"] if ok else []
    points = sum(len(s["values"]) for s in result)
    return Timing(query, statistics.median(times), points, "ok" if ok else str(body.get("error", "error"))[:60], result)


def start_servers(services: int, work: Path, reuse_sloguard: bool) -> tuple[Server, Server, str, str]:
    om = generate(services)
    prom_db, slo_dir = OUT / f"prom_{services}x{INSTANCES}", OUT / f"sloguard_{services}x{INSTANCES}"
    prom_fill = backfill(["promtool", "tsdb", "create-blocks-from", "openmetrics", str(om), str(prom_db)], prom_db)
    slo_fill = backfill([sloguard_bin(), "import", "openmetrics", str(om), "--data-dir", str(slo_dir), "-q"], slo_dir, reuse_sloguard)
    (work / "prometheus.yml").write_text("global: {}\n")
    (work / "sloguard.yml").write_text(
        "global:\n  scrape_interval: 15s\nscrape_configs: []\nstorage:\n  tsdb:\n    retention_time: 100y\n"
    )
    pport, sport = free_port(), free_port()
    prom = Server("prometheus", ["prometheus", f"--config.file={work / 'prometheus.yml'}",
                                 f"--storage.tsdb.path={prom_db}", "--storage.tsdb.retention.time=100y",
                                 f"--web.listen-address=127.0.0.1:{pport}"], pport, work / "prometheus.log")
    try:
        slo = Server("sloguard", [sloguard_bin(), "serve", "--config", str(work / "sloguard.yml"),
                                  "--data-dir", str(slo_dir), "--listen", f"127.0.0.1:{sport}",
                                  "--log.level", "warn"], sport, work / "sloguard.log")
    except BaseException:
        prom.stop()
        raise
    return prom, slo, prom_fill, slo_fill


def run_scale(scale: int, queries: list[str], repeats: int, reuse_sloguard: bool) -> str:
    services = 50 * scale
    series = services * INSTANCES * SERIES_PER_INSTANCE
    with tempfile.TemporaryDirectory(prefix="bench-promql-") as tmp:
        prom, slo, prom_fill, slo_fill = start_servers(services, Path(tmp), reuse_sloguard)
        load_before = os.getloadavg()[0]
        try:
            rows = []
            for q in queries:
                log(f"  {q[:80]}")
                rows.append((time_query(prom.url, q, repeats), time_query(slo.url, q, repeats)))
            rss = (prom.peak_rss_mib(), slo.peak_rss_mib())
        finally:
            prom.stop()
            slo.stop()
    load = (load_before, os.getloadavg()[0])
    return report(scale, series, rows, rss, prom_fill, slo_fill, repeats) + (
        f"Load average (1m) before/after the queries: {load[0]:.2f} / {load[1]:.2f}.\n")


RSS_TARGET = 1.5  # sloguard's peak RSS at most this multiple of Prometheus' ...
RSS_TARGET_SCALE = 10  # ... at 45,000 series (issue 8)


def rss_verdict(scale: int, rss: tuple[float, float]) -> str:
    """The peak RSS ratio sloguard/Prometheus, and at the target's scale whether it is met."""
    ratio = rss[1] / rss[0] if rss[0] else float("nan")
    text = f"ratio {ratio:.2f}"
    if scale == RSS_TARGET_SCALE:
        text += f" (target <= {RSS_TARGET}: {'met' if ratio <= RSS_TARGET else 'not met'})"
    return text


def report(scale: int, series: int, rows: list[tuple[Timing, Timing]], rss: tuple[float, float],
           prom_fill: str, slo_fill: str, repeats: int) -> str:
    lines = [
        f"### {series:,} series (scale {scale}x: `--services {50 * scale} --instances {INSTANCES}`)", "",
        "| # | query | Prometheus s | sloguard s | ratio | points P / S | same result |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for i, (p, s) in enumerate(rows, 1):
        ratio = s.seconds / p.seconds if p.seconds else float("nan")
        pts = f"{p.points} / {s.points}" if s.status == "ok" else f"{p.points} / error: {s.status}"
        same = "yes" if s.status == "ok" and same_result(p.result, s.result) else "no"
        lines.append(f"| {i} | `{p.query[:70]}{'…' if len(p.query) > 70 else ''}` | {p.seconds:.3f} | {s.seconds:.3f} | {ratio:.2f} | {pts} | {same} |")
    tp, ts = sum(p.seconds for p, _ in rows), sum(s.seconds for _, s in rows)
    errors = sum(s.status != "ok" for _, s in rows)
    note = f" ({errors} sloguard errors: ratio meaningless)" if errors else ""
    lines += [
        f"| | **total**{note} | **{tp:.3f}** | **{ts:.3f}** | **{ts / tp:.2f}** | | |", "",
        f"Peak RSS (VmHWM): Prometheus {rss[0]:.0f} MiB, sloguard {rss[1]:.0f} MiB: {rss_verdict(scale, rss)}. "
        f"Backfill: promtool {prom_fill}, `sloguard import openmetrics` {slo_fill}. "
        f"Median of {repeats} runs per query.", "",
    ]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scales", default=os.environ.get("BENCH_PROMQL_SCALES", "1"),
                    help="comma-separated multiples of 4,500 series (1 and/or 10)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--reuse-sloguard", action="store_true",
                    help="reuse sloguard's data directory from an earlier run (the storage format may "
                         "have changed since, so by default it is imported afresh)")
    a = ap.parse_args()
    missing = [b for b in ("prometheus", "promtool") if shutil.which(b) is None]
    if missing or not SHARED.is_dir():
        why = f"{', '.join(missing)} not on PATH" if missing else f"{SHARED} not found (set SLOGUARD_SHARED)"
        print(f"## PromQL: sloguard vs Prometheus\n\nSkipped: {why}.\n")
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    queries = [q.strip() for q in (SHARED / "queries.txt").read_text().splitlines() if q.strip()]
    sections = [run_scale(int(s), queries, a.repeats, a.reuse_sloguard) for s in a.scales.split(",") if s.strip()]
    print("## PromQL: sloguard vs Prometheus 2.42 (range queries)\n")
    print(f"Range queries over 5.5 h at a {STEP_S} s step, wall time of the HTTP request; "
          f"both servers on the same machine ({os.cpu_count()} cores). Ratio = sloguard / Prometheus "
          "(below 1: sloguard faster).\n")
    print("\n".join(sections))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
