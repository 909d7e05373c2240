#!/usr/bin/env python3
"""One full rule cycle for 1,000 generated SLOs on the standard workload: sloguard's rule
engine vs a real Prometheus evaluating the exported rule file, over the same data.
``--slos N`` scales it (20 SLOs per service, so N/20 services x 10 instances; the
issue-13 target is 10,000 SLOs) and ``--interval`` sets the group interval (Prometheus
must finish a cycle within it on this machine for its figure to mean anything).

The standard RED workload (``gen_openmetrics.py``, 50 services x 10 instances) is
generated to end just before now, backfilled into Prometheus (promtool) and sloguard
(``sloguard import``). The 1,000 SLOs (per service: availability at five objectives and
latency at five thresholds, each once overall and once per instance) are exported with
``sloguard slo rules``; every group's interval is set to 30s so both engines evaluate
each group twice in a few minutes. Prometheus runs its groups concurrently, so the sum
of ``prometheus_rule_group_last_duration_seconds`` counts waiting on the CPU as work
when groups overlap; the figure compared is therefore CPU time per cycle: the
Prometheus process' CPU seconds (utime + stime) over two whole intervals after every
group has run twice, halved, against the CPU seconds sloguard's rule engine spends on
one cycle (its second, so long windows read the records of the first, and each group
reads its selectors once over the widest window it used before). Both sums of group
durations, and their ratio, are printed too. Not a test.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_promql import OUT, SHARED, Server, free_port, log, sloguard_bin  # noqa: E402

HOURS = 3
INTERVAL_S = 60


def slo_spec(services: int) -> str:
    lines = ["apiVersion: sloguard/v1", "slos:"]
    for s in range(services):
        svc = f"svc-{s}"
        for grouping in ([], ["instance"]):
            g = f"    grouping: [{', '.join(grouping)}]\n" if grouping else ""
            suffix = "-by-instance" if grouping else ""
            for obj in (99, 99.5, 99.9, 99.95, 99.99):
                lines.append(
                    f"  - name: {svc}-availability-{obj}{suffix}\n    service: {svc}\n    objective: {obj}\n{g}"
                    f"    sli: {{ratio: {{bad: 'http_requests_total{{service=\"{svc}\",code=\"500\"}}', "
                    f"total: 'http_requests_total{{service=\"{svc}\"}}'}}}}"
                )
            for le in (0.05, 0.1, 0.25, 0.5, 1):
                lines.append(
                    f"  - name: {svc}-latency-{le}{suffix}\n    service: {svc}\n    objective: 99\n{g}"
                    f"    sli: {{latency: {{metric: http_request_duration_seconds, threshold: {le}, "
                    f"selector: 'service=\"{svc}\"'}}}}"
                )
    return "\n".join(lines) + "\n"


def prepare(work: Path, end_s: int, services: int = 50) -> tuple[Path, Path, Path]:
    om, rules = work / "red.om", work / "slo.rules.yml"
    log("generating workload ending now")
    with om.open("w") as f:
        subprocess.run([sys.executable, str(SHARED / "gen_openmetrics.py"), "--hours", str(HOURS),
                        "--services", str(services), "--end", str(end_s)], stdout=f, check=True)
    spec = work / "slos.yml"
    spec.write_text(slo_spec(services))
    text = subprocess.run([sloguard_bin(), "slo", "rules", str(spec)], check=True, capture_output=True, text=True).stdout
    rules.write_text(re.sub(r"(?m)^  interval: .*$", f"  interval: {INTERVAL_S}s", text))
    prom_data, slo_data = work / "prom", work / "sloguard"
    log("backfilling promtool / sloguard")
    subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", str(om), str(prom_data)], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([sloguard_bin(), "import", "openmetrics", str(om), "--data-dir", str(slo_data), "--quiet"], check=True, stdout=subprocess.DEVNULL)
    return rules, prom_data, slo_data


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _group_metrics(url: str) -> tuple[list[float], list[float]]:
    text = urllib.request.urlopen(f"{url}/metrics", timeout=120).read().decode()
    durs = [float(v) for v in re.findall(r'^prometheus_rule_group_last_duration_seconds\{rule_group="[^"]+"\} (\S+)', text, re.M)]
    iters = [float(v) for v in re.findall(r'^prometheus_rule_group_iterations_total\{rule_group="[^"]+"\} (\S+)', text, re.M)]
    return durs, iters


def prometheus_cycle(work: Path, rules: Path, data: Path, groups: int) -> tuple[float, float]:
    """(CPU seconds per cycle, sum of last group durations)."""
    cfg = work / "prometheus.yml"
    cfg.write_text(f"global:\n  evaluation_interval: {INTERVAL_S}s\nrule_files: [{rules}]\n")
    port = free_port()
    srv = Server("prometheus", ["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={data}",
                                f"--web.listen-address=127.0.0.1:{port}"], port, work / "prometheus.log")
    try:
        deadline = time.monotonic() + 6 * INTERVAL_S
        while time.monotonic() < deadline:
            durs, iters = _group_metrics(srv.url)
            if len(iters) == groups and min(iters) >= 2:
                break
            time.sleep(2)
        else:
            raise RuntimeError(f"Prometheus did not evaluate all {groups} groups twice in time")
        cpu0, iters0 = _cpu_s(srv.proc.pid), sum(iters)
        time.sleep(2 * INTERVAL_S)
        durs, iters = _group_metrics(srv.url)
        cycles = (sum(iters) - iters0) / groups  # whole cycles done in the window (2 if it kept up)
        return (_cpu_s(srv.proc.pid) - cpu0) / cycles, sum(durs)
    finally:
        srv.stop()


def sloguard_cycle(rules: Path, data: Path, at_ms: int) -> tuple[float, float, int, int]:
    """(CPU seconds of one cycle, sum of group evaluation times, groups, rules in error)."""
    from sloguard.promql.engine import PromQLEngine
    from sloguard.rules import ManagerOptions, RuleManager, engine_query_func
    from sloguard.tsdb import TSDB

    db = TSDB.open(data)
    try:
        engine = PromQLEngine(db)
        m = RuleManager(ManagerOptions(query=engine_query_func(engine), storage=db))
        groups = list(m.load_groups([str(rules)]).values())
        for g in groups:  # first evaluation creates the records that long windows read
            g.eval(at_ms - 30_000)
        total = 0.0
        cpu0 = time.process_time()
        for g in groups:
            g.eval(at_ms)
            total += g.evaluation_time_s
        cpu = time.process_time() - cpu0
        bad = sum(1 for g in groups for r in g.rules if r.status.last_error)
        return cpu, total, len(groups), bad
    finally:
        db.close()


def main() -> int:
    global INTERVAL_S
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--slos", type=int, default=1000, help="SLOs (a multiple of 20)")
    ap.add_argument("--interval", type=int, default=INTERVAL_S, help="group interval, seconds")
    a = ap.parse_args()
    INTERVAL_S = a.interval
    services = max(1, a.slos // 20)
    title = f"## Rule evaluation: {services * 20:,} SLOs, one full cycle\n"
    if shutil.which("promtool") is None or shutil.which("prometheus") is None:
        print(f"{title}\nskipped: prometheus/promtool not on PATH (scripts/install-peers)\n")
        return 0
    work = OUT / "rules"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    end_s = int(time.time()) - 60
    rules, prom_data, slo_data = prepare(work, end_s, services)
    n_groups = sum(1 for line in rules.read_text().splitlines() if line.startswith("- name: "))
    n_rules = sum(1 for line in rules.read_text().splitlines() if re.match(r"\s+- (record|alert): ", line))
    log("sloguard cycle")
    load_s = os.getloadavg()[0]
    s_cpu, s_total, groups, bad = sloguard_cycle(rules, slo_data, int(time.time() * 1000))
    log(f"sloguard: {s_cpu:.2f} s CPU per cycle, {s_total:.2f} s summed group times, {bad} rules in error")
    log("Prometheus cycle")
    load_p = os.getloadavg()[0]
    p_cpu, p_total = prometheus_cycle(work, rules, prom_data, n_groups)
    print(title)
    print(f"{os.cpu_count()} cores. Standard workload ({HOURS} h ending now, {services * 90:,} series), "
          f"{groups} groups / {n_rules} rules from `sloguard slo rules`, group interval {INTERVAL_S}s.\n")
    print("| engine | CPU per cycle | sum of group evaluation times | load average (1m) at start |\n|---|---|---|---|")
    print(f"| Prometheus 2.42 | {p_cpu:.2f} s | {p_total:.2f} s (groups run concurrently) | {load_p:.2f} |")
    print(f"| sloguard | {s_cpu:.2f} s | {s_total:.2f} s (groups in sequence) | {load_s:.2f} |\n")
    print(f"CPU ratio sloguard/Prometheus: **{s_cpu / p_cpu:.2f}** (target <= 1); ratio of the sums of group "
          f"evaluation times (Prometheus' `prometheus_rule_group_last_duration_seconds`): **{s_total / p_total:.2f}**. "
          f"Rules with errors in sloguard: {bad}.\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
