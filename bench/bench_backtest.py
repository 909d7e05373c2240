#!/usr/bin/env python3
"""Backtest of 100 SLOs over 30 days of 15 s samples (``sloguard slo backtest``'s engine)
against the same replay done by Prometheus' own rule engine (``promtool test rules``).

Workload: per SLO two counters, ``requests_total{svc, code="200"|"500"}``, scraped every
15 s at 10,000 requests a step, with known incidents at seeded times (a 15-minute
outage, a 5-minute 5% blip, a 2x burn and a 1.1x flapping burn for 12 hours each).
Counts are whole numbers and change rate only between incidents, so the same series are
written to sloguard's TSDB (``BlockWriter``, one-day blocks, not timed) and to promtool's input series
in its ``a+bxn`` notation. The shared RED generator (``gen_openmetrics.py``) is not
used: 30 days of it at 15 s would be gigabytes of text.

sloguard: for every SLO, read the SLI's per-minute counts from the TSDB (two range
queries) and replay its generated tiers (workbook windows, page over ticket), timed in
process. Prometheus: ``promtool test rules`` evaluates the very rule file ``sloguard slo
rules`` generates, every minute from 0 to the end, and is asked at the end how many
evaluations each alert fired (``count_over_time(ALERTS{alertstate="firing"}[...])``,
with sloguard's counts as the expected values, so promtool also checks agreement).
promtool needs about 8 CPU seconds per SLO-day on this machine, so the full 100 x 30 days (about
7 hours) is replaced by a subset replayed by both; the full size is timed for sloguard.
Not a test.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sloguard.labels import Labels  # noqa: E402
from sloguard.promql.engine import PromQLEngine  # noqa: E402
from sloguard.slo import backtest, rulegen  # noqa: E402
from sloguard.slo._backtest_history import fetch  # noqa: E402
from sloguard.slo._backtest_policy import resolve  # noqa: E402
from sloguard.slo._range import engine_range_query  # noqa: E402
from sloguard.slo._yaml import dump_yaml  # noqa: E402
from sloguard.slo.loader import load_text  # noqa: E402
from sloguard.tsdb import TSDB, BlockWriter, FsyncPolicy, TSDBOptions  # noqa: E402

SCRAPE_MS, STEP_MS, M, H, D = 15_000, 60_000, 60_000, 3_600_000, 86_400_000
PER_SCRAPE = 10_000
FULL = (int(os.environ.get("BENCH_BACKTEST_SLOS", 100)), int(os.environ.get("BENCH_BACKTEST_DAYS", 30)))
SUBSET = (int(os.environ.get("BENCH_BACKTEST_SUBSET_SLOS", 4)), int(os.environ.get("BENCH_BACKTEST_SUBSET_DAYS", 4)))


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def bad_per_scrape(i: int, days: int) -> np.ndarray:
    """Errors in each 15 s scrape interval of SLO ``i`` (seeded incident times)."""
    n = days * D // SCRAPE_MS
    rng = np.random.default_rng(i)
    bad = np.zeros(n + 1)
    t = np.arange(n + 1) * SCRAPE_MS

    def at(start: int, length: int, value: float) -> None:
        bad[(t > start) & (t <= start + length)] = value

    slot = days * D // 4  # one incident in each quarter of the range, at a seeded offset

    def start(k: int, length: int) -> int:
        return k * slot + int(rng.integers(0, max(slot - length, 1))) // H * H

    at(start(0, 15 * M), 15 * M, PER_SCRAPE)  # outage
    at(start(1, 5 * M), 5 * M, PER_SCRAPE // 20)  # 5-minute 5% blip
    at(start(2, 12 * H), 12 * H, PER_SCRAPE * 2 // 1000)  # 2x for 12 hours
    flap = start(3, 12 * H)
    for k in range(12):  # 1.1x: 2.2x for half of every hour, 12 hours
        at(flap + k * H, 30 * M, PER_SCRAPE * 22 // 10_000)
    bad[0] = 0
    return bad


def good_per_scrape(bad: np.ndarray) -> np.ndarray:
    good = PER_SCRAPE - bad
    good[0] = 0
    return good


def spec(n: int) -> str:
    slos = "".join(
        f"  - name: s{i}\n    objective: 99.9\n    alerting: {{no_data: false}}\n"
        f"    sli: {{ratio: {{bad: 'requests_total{{svc=\"s{i}\",code=\"500\"}}', total: 'requests_total{{svc=\"s{i}\"}}'}}}}\n"
        for i in range(n)
    )
    return f"apiVersion: sloguard/v1\nservice: bench\nslos:\n{slos}"


def write_tsdb(path: Path, n: int, days: int) -> None:
    """One-day blocks, as the TSDB's compaction leaves a month of data (fresh 2h blocks from
    a backfill read about 2.5x slower until they are compacted)."""
    with BlockWriter(path, block_duration_ms=D) as w:
        for i in range(n):
            bad = bad_per_scrape(i, days)
            t = np.arange(len(bad), dtype=np.int64) * SCRAPE_MS
            w.add(Labels.of(name__="requests_total", svc=f"s{i}", code="500"), t, np.cumsum(bad))
            w.add(Labels.of(name__="requests_total", svc=f"s{i}", code="200"), t, np.cumsum(good_per_scrape(bad)))


def sloguard_backtest(path: Path, n: int, days: int, policies: list[str]) -> tuple[float, float, list[backtest.Backtest]]:
    """Wall and CPU seconds of the backtest of every SLO (reading the history included)."""
    slos = load_text(spec(n), "bench.yml")[0]
    db = TSDB.open(path, TSDBOptions(fsync=FsyncPolicy.NEVER, retention_ms=0))
    try:
        query = engine_range_query(PromQLEngine(db))
        t0, c0 = time.perf_counter(), time.process_time()
        out = []
        for slo in slos:
            pols = [resolve(p, slo) for p in policies]
            h = fetch(query, slo, 0, days * D, STEP_MS, 3 * D)
            out.append(backtest.run(h, slo, pols))
        return time.perf_counter() - t0, time.process_time() - c0, out
    finally:
        db.close()


def notation(inc: np.ndarray) -> str:
    """promtool's ``a+bxn`` segments for a counter starting at 0 with these increments."""
    change = np.flatnonzero(np.diff(inc[1:])) + 2
    starts = np.concatenate([[1], change])
    ends = np.concatenate([change, [len(inc)]])
    parts, value = [], 0
    for k, (s, e) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        b = int(inc[s])
        if k == 0:
            parts.append(f"0+{b}x{e - s}")
        else:
            parts.append(f"{value + b}+{b}x{e - s - 1}")
        value += b * (e - s)
    return " ".join(parts)


def firing_steps(b: backtest.Backtest, end_ms: int) -> dict[str, int]:
    out = {}
    for r in b.results:
        out[r.tier] = sum(((a.end_ms or end_ms + STEP_MS) - a.start_ms) // STEP_MS for a in r.alerts)
    return out


def promtool_replay(work: Path, n: int, days: int, expected: list[backtest.Backtest]) -> tuple[float, float, str]:
    slos = load_text(spec(n), "bench.yml")[0]
    (work / "rules.yml").write_text(dump_yaml([rulegen.generate(slos, STEP_MS)]))
    series = []
    for i in range(n):
        bad = bad_per_scrape(i, days)
        series.append({"series": f'requests_total{{svc="s{i}",code="500"}}', "values": notation(bad)})
        series.append({"series": f'requests_total{{svc="s{i}",code="200"}}', "values": notation(good_per_scrape(bad))})
    samples = []
    for slo, b in zip(slos, expected, strict=True):
        for tier, count in firing_steps(b, days * D).items():
            labels = f'{{slo="{slo.name}",tier="{tier}"}}'
            if count:
                samples.append({"labels": labels, "value": count})
    expr = f'sum by (slo, tier) (count_over_time(ALERTS{{alertstate="firing"}}[{days}d]))'
    test = {"rule_files": ["rules.yml"], "evaluation_interval": "1m", "tests": [{
        "interval": "15s", "input_series": series,
        "promql_expr_test": [{"expr": expr, "eval_time": f"{days}d", "exp_samples": samples}],
    }]}
    (work / "test.yml").write_text(dump_yaml([test]))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(["promtool", "test", "rules", "test.yml"], cwd=work, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, _agreement(proc.returncode, proc.stdout + proc.stderr, len(samples))


_SAMPLE = re.compile(r"(\{[^}]*\}) (-?[\d.]+(?:E[+-]\d+)?)")


def _agreement(code: int, out: str, n: int) -> str:
    """promtool's verdict on sloguard's counts: the series whose counts differ, by how much."""
    if code == 0:
        return f"all {n} (SLO, tier) counts equal (promtool SUCCESS)"
    exp_line = out.split("exp:", 1)[1].split("got:", 1)[0] if "exp:" in out else ""
    got_line = out.split("got:", 1)[1].split("\n", 1)[0] if "got:" in out else ""
    exp, got = dict(_SAMPLE.findall(exp_line)), dict(_SAMPLE.findall(got_line))
    if not exp:
        return "promtool failed: " + " ".join(out.split())[-400:]
    diffs = [abs(float(exp.get(k, 0)) - float(got.get(k, 0))) for k in exp.keys() | got.keys()]
    same = sum(d == 0 for d in diffs)
    total = sum(float(v) for v in got.values())
    return (f"{same} of {len(diffs)} (SLO, tier) counts equal; the others differ by at most {max(diffs):.0f} "
            f"evaluations ({sum(diffs):.0f} of {total:.0f} firing evaluations in all)")


def main() -> int:
    if shutil.which("promtool") is None:
        print("## Alert policy backtest (bench_backtest.py)\n\nskipped: promtool is not on PATH")
        return 0
    work = Path(tempfile.mkdtemp(prefix="bench-backtest-"))
    try:
        return _run(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(work: Path) -> int:
    (sn, sd), (fn, fd) = SUBSET, FULL
    log(f"subset: {sn} SLOs x {sd} days")
    write_tsdb(work / "subset", sn, sd)
    ours_subset, ours_subset_cpu, results = sloguard_backtest(work / "subset", sn, sd, ["spec"])
    (work / "prom").mkdir()
    prom_wall, prom_cpu, agree = promtool_replay(work / "prom", sn, sd, results)
    log(f"full: {fn} SLOs x {fd} days")
    t0 = time.perf_counter()
    write_tsdb(work / "full", fn, fd)
    write_s = time.perf_counter() - t0
    ours_full, ours_full_cpu, full = sloguard_backtest(work / "full", fn, fd, ["spec"])
    ours_three, _, three = sloguard_backtest(work / "full", fn, fd, ["spec", "sloth", "pyrra"])
    per_slo_day = prom_cpu / (sn * sd)
    est_full = per_slo_day * fn * fd
    alerts = sum(len(r.alerts) for b in full for r in b.results)
    events = sum(len(r.events) for b in full for r in b.results)
    load = os.getloadavg()[0]
    print("## Alert policy backtest (bench_backtest.py)\n")
    print(f"- machine: {os.cpu_count()} cores, load average (1m) at the end {load:.2f} (other work shares the cores)")
    print(f"- workload: per SLO two counters at 15 s, {PER_SCRAPE:,} requests a scrape, a 15-minute outage, a 5-minute 5% blip, "
          "12 hours at 2x and 12 hours flapping at 1.1x (one in each quarter of the range, seeded); rules evaluated (or replayed) every 1m, workbook tiers")
    print(f"- subset replayed by both, {sn} SLOs x {sd} days: promtool test rules {prom_wall:.1f} s wall, "
          f"{prom_cpu:.1f} s CPU; sloguard backtest {ours_subset:.2f} s wall, {ours_subset_cpu:.2f} s CPU; "
          f"**ratio {prom_cpu / ours_subset_cpu:.0f}x in CPU time** ({prom_wall / ours_subset:.0f}x wall; target >= 10x)")
    print(f"- firing evaluations per SLO and tier, sloguard's counts checked by promtool: {agree}")
    print(f"- full size, {fn} SLOs x {fd} days (sloguard only): backtest {ours_full:.1f} s wall, {ours_full_cpu:.1f} s CPU "
          f"({ours_full / fn * 1000:.0f} ms per SLO; {alerts} alerts, {events} events); with three policies "
          f"(spec, sloth, pyrra) {ours_three:.1f} s, measures below; writing the blocks (not timed above) {write_s:.1f} s")
    print(f"- promtool at full size, estimated from the subset's {per_slo_day:.1f} CPU s per SLO-day: "
          f"{est_full / 3600:.1f} CPU hours, **{est_full / ours_full_cpu:.0f}x** the backtest's CPU time (an extrapolation, not a run)")
    print(_policy_table(three))
    return 0


def _policy_table(results: list[backtest.Backtest]) -> str:
    """Alerts, precision, events and recall per policy and tier, summed over the SLOs."""
    rows: dict[tuple[str, str], list[int]] = {}
    for b in results:
        for r in b.results:
            acc = rows.setdefault((r.policy, r.tier), [0, 0, 0, 0])
            acc[0] += len(r.alerts)
            acc[1] += sum(a.matched for a in r.alerts)
            acc[2] += len(r.events)
            acc[3] += sum(e.detected_ms is not None for e in r.events)
    lines = ["", "| policy | tier | alerts | precision | events | recall |", "|---|---|---:|---:|---:|---:|"]
    for (policy, tier), (n, ok, ev, det) in rows.items():
        lines.append(f"| {policy} | {tier} | {n} | {ok / n if n else 0:.2f} | {ev} | {det / ev if ev else 0:.2f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
