#!/usr/bin/env python3
"""One rule cycle of generated SLO rules in ruler mode against a remote backend (real
Prometheus and VictoriaMetrics on loopback), beside the same cycle in embedded mode.

``SERVICES`` services with 3 request counters each (2 h at 15 s) are written into an
embedded TSDB and, by remote write, into each backend; each service has 4 SLOs (Sloth-style
events SLIs at four objectives), whose generated rules (``sloguard.slo.rulegen``) are
evaluated for two cycles (the second is measured: long windows then read the first's
records). Ruler mode reads through ``RemoteEngine`` and writes back through the
remote-write queue over a local WAL, syncing before a rule reads outputs just written.
Reported: wall time of the cycle, sloguard's CPU seconds, the backend's CPU seconds
(from /proc), and the HTTP reads. Not a test.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.remote._peers import Peer, prometheus, victoria_metrics  # noqa: E402
from tests.remote._writeback import ruler_local  # noqa: E402

from sloguard.ingest.remote_write import encode_write_request  # noqa: E402
from sloguard.labels import Labels  # noqa: E402
from sloguard.promql.engine import PromQLEngine  # noqa: E402
from sloguard.remote import QueryBackend, RemoteEngine  # noqa: E402
from sloguard.remote._ruler import RuleQuery, RulerStorage  # noqa: E402
from sloguard.rules import ManagerOptions, RuleManager, engine_query_func  # noqa: E402
from sloguard.slo import rulegen  # noqa: E402
from sloguard.slo._yaml import dump_yaml  # noqa: E402
from sloguard.slo.loader import load_text  # noqa: E402
from sloguard.tsdb import TSDB, FsyncPolicy, TSDBOptions  # noqa: E402

SERVICES = int(os.environ.get("BENCH_RULER_SERVICES", "25"))
M = 60_000


def spec() -> str:
    lines = ['version: "prometheus/v1"', 'service: "bench"', "slos:"]
    for s in range(SERVICES):
        for obj in (99, 99.5, 99.9, 99.95):
            lines += [f'  - name: "svc{s}-avail-{obj}"', f"    objective: {obj}", "    sli:", "      events:",
                      f"        error_query: sum(rate(http_requests_total{{service=\"svc{s}\",code=~\"5..\"}}[{{{{.window}}}}]))",
                      f"        total_query: sum(rate(http_requests_total{{service=\"svc{s}\"}}[{{{{.window}}}}]))",
                      "    alerting: {name: Avail, page_alert: {disable: true}, ticket_alert: {disable: true}}"]
    return "\n".join(lines) + "\n"


def traffic(end: int) -> list[tuple[Labels, np.ndarray, np.ndarray]]:
    t = np.arange(end - 120 * M + 7_000, end + 1, 15_000, dtype=np.int64)
    rng = np.random.default_rng(1)
    out = []
    for s in range(SERVICES):
        for code, share in (("200", 0.97), ("500", 0.02), ("503", 0.01)):
            inc = rng.poisson(300 * share, len(t)).astype(np.float64)
            out.append((Labels.of(__name__="http_requests_total", service=f"svc{s}", code=code), t, np.cumsum(inc)))
    return out


def write_in_time_order(peer: Peer, data: list[tuple[Labels, np.ndarray, np.ndarray]]) -> None:
    """In 10-minute slices of every series: Prometheus refuses samples over an hour older
    than the newest it has taken."""
    t = data[0][1]
    for lo in range(int(t[0]), int(t[-1]) + 1, 10 * M):
        part = [(ls, ts[(ts >= lo) & (ts < lo + 10 * M)], vs[(ts >= lo) & (ts < lo + 10 * M)]) for ls, ts, vs in data]
        peer.write(encode_write_request(part))


def groups(rules: Path, opts: ManagerOptions) -> list:  # type: ignore[type-arg]
    return list(RuleManager(opts, use_threads=False).load_groups([str(rules)]).values())


def cycle(gs: list, ts: int) -> tuple[float, float]:  # type: ignore[type-arg]
    w, c = time.perf_counter(), time.process_time()
    for g in gs:
        g.eval(ts)
    return time.perf_counter() - w, time.process_time() - c


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def ruler(peer: Peer, tmp: Path, rules: Path, end: int) -> tuple[float, float, float, int]:
    engine = RemoteEngine(QueryBackend(url=peer.url, timeout_s=120))
    local, queues, sync = await ruler_local(peer, tmp, poll_ms=25)  # the server's WAL poll
    storage = RulerStorage(local, engine)
    gs = groups(rules, ManagerOptions(query=RuleQuery(engine, storage, sync), storage=storage))
    await asyncio.to_thread(cycle, gs, end - M)
    reads = count_reads(engine)
    backend0 = cpu_s(peer.proc.pid)
    wall, cpu = await asyncio.to_thread(cycle, gs, end)
    backend = cpu_s(peer.proc.pid) - backend0
    n = count_reads(engine) - reads
    await queues.stop()
    local.close()
    return wall, cpu, backend, n


def count_reads(engine: RemoteEngine) -> int:
    return int(engine.client.reads_total)


def main() -> None:
    end = (int(time.time() * 1000) // M) * M - M
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        slos, _ = load_text(spec(), "bench.sloth.yml")
        rules = tmp / "rules.yml"
        rules.write_text(dump_yaml([rulegen.generate(slos, M)]))
        data = traffic(end)
        db = TSDB.open(tmp / "embedded", TSDBOptions(fsync=FsyncPolicy.NEVER, retention_ms=0))
        app = db.appender()
        for ls, ts, vs in data:
            app.append_many(ls, ts, vs)
        app.commit()
        gs = groups(rules, ManagerOptions(query=engine_query_func(PromQLEngine(db)), storage=db))
        n_rules = sum(len(g.rules) for g in gs)
        cycle(gs, end - M)
        rows = [("embedded", *cycle(gs, end), 0.0, 0)]
        for name, start in (("Prometheus", prometheus), ("VictoriaMetrics", victoria_metrics)):
            with start(tmp / name) as peer:
                write_in_time_order(peer, data)
                peer.flush()
                rows.append((f"ruler -> {name}", *asyncio.run(ruler(peer, tmp / f"{name}-ruler", rules, end))))
    print(f"## ruler mode: one rule cycle against a remote backend\n\n{len(slos)} SLOs, {n_rules} rules "
          f"({len(gs)} groups), {len(data)} input series; {os.cpu_count()} cores, backends on loopback.\n")
    print("| mode | cycle wall s | sloguard CPU s | backend CPU s | HTTP reads |\n|---|---|---|---|---|")
    for mode, wall, cpu, backend, n in rows:
        print(f"| {mode} | {wall:.2f} | {cpu:.2f} | {backend:.2f} | {n} |")


if __name__ == "__main__":
    main()
