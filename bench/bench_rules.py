#!/usr/bin/env python3
"""One full rule cycle for 1,000 generated SLOs on the standard workload: sloguard's rule
engine vs a real Prometheus evaluating the exported rule file, over the same data.
``--slos N`` scales it (20 SLOs per service, so N/20 services x 10 instances; the
issue-13 target is 10,000 SLOs) and ``--interval`` sets the group interval of both
engines (Prometheus must finish a cycle within it on this machine for its figure to mean
anything: 10,000 SLOs need a few minutes on two shared cores).

The standard RED workload (``gen_openmetrics.py``, 50 services x 10 instances) is
generated to end just before now, backfilled into Prometheus (promtool) and sloguard
(``sloguard import``). The SLOs (per service: availability at five objectives and
latency at five thresholds, each once overall and once per instance) are exported with
``sloguard slo rules``; every group's interval is set to ``--interval``. Prometheus runs
its groups concurrently, so the sum of ``prometheus_rule_group_last_duration_seconds``
counts waiting on the CPU as work when groups overlap; the figure compared is therefore
CPU time per cycle: the Prometheus process' CPU seconds (utime + stime) over
``--intervals`` whole intervals after every group has run twice, divided by the cycles
done in them, against the CPU seconds sloguard's rule manager spends on one cycle: every
group at its slotted time in the interval, in time order (``RuleManager.cycle`` and
``evaluate``, which reads ahead the block data of the groups due next), the second such
cycle, so long windows read the records of the first. sloguard evaluates at the middle
of Prometheus' measured window, so both read the same data at the same age, into a copy
of its imported data. Both sums of group durations, and their ratio, are printed too.
``--work DIR --reuse`` runs again on data prepared before; ``--engines`` picks one.
Not a test.
"""

from __future__ import annotations

import argparse
import json
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


def prometheus_cycle(work: Path, rules: Path, data: Path, groups: int, intervals: int = 2) -> dict[str, float]:
    """CPU seconds per cycle (process CPU over ``intervals`` whole intervals after every
    group has run twice, divided by the cycles done in them), the sum of the last group
    durations, and the measured window (unix seconds) and cycles."""
    cfg = work / "prometheus.yml"
    cfg.write_text(f"global:\n  evaluation_interval: {INTERVAL_S}s\nrule_files: [{rules}]\n")
    port = free_port()
    srv = Server("prometheus", ["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={data}",
                                f"--web.listen-address=127.0.0.1:{port}"], port, work / "prometheus.log")
    try:
        started = time.time()
        deadline = time.monotonic() + 6 * INTERVAL_S
        while time.monotonic() < deadline:
            durs, iters = _group_metrics(srv.url)
            if len(iters) == groups and min(iters) >= 2:
                break
            time.sleep(2)
        else:
            raise RuntimeError(f"Prometheus did not evaluate all {groups} groups twice in time")
        cpu0, iters0, t0 = _cpu_s(srv.proc.pid), sum(iters), time.time()
        time.sleep(intervals * INTERVAL_S)
        durs, iters = _group_metrics(srv.url)
        cpu1, t1 = _cpu_s(srv.proc.pid), time.time()
        cycles = (sum(iters) - iters0) / groups  # whole cycles done in the window (`intervals` if it kept up)
        rss = _rss_mib(srv.proc.pid)
        return {"cpu": (cpu1 - cpu0) / cycles, "durations": sum(durs), "t0": t0, "t1": t1, "cycles": cycles,
                "startup_to_measure_s": t0 - started, "rss_mib": rss}
    finally:
        srv.stop()


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def sloguard_cycle(rules: Path, data: Path, at_ms: int) -> dict[str, float]:
    """One cycle as the rule manager runs it: every group at its slotted time in the
    interval ending at ``at_ms``, in time order, after a first cycle one interval earlier
    (whose records the long windows read). CPU seconds of the second cycle, the sum of
    its group evaluation times, groups, rules in error, and the CPU seconds of loading."""
    from sloguard.promql.engine import PromQLEngine
    from sloguard.rules import ManagerOptions, RuleManager, engine_query_func
    from sloguard.tsdb import TSDB

    db = TSDB.open(data)
    try:
        engine = PromQLEngine(db)
        m = RuleManager(ManagerOptions(query=engine_query_func(engine), storage=db,
                                       default_interval_ms=INTERVAL_S * 1000))
        cpu0 = time.process_time()
        m.update([str(rules)])
        load = time.process_time() - cpu0
        groups = m.groups()
        for g, t in m.cycle(at_ms - INTERVAL_S * 1000):  # creates the records that long windows read
            m.evaluate(g, t)
        total = 0.0
        cpu0 = time.process_time()
        for g, t in m.cycle(at_ms):
            m.evaluate(g, t)
            total += g.evaluation_time_s
        cpu = time.process_time() - cpu0
        bad = sum(1 for g in groups for r in g.rules if r.status.last_error)
        return {"cpu": cpu, "durations": total, "groups": len(groups), "bad": bad, "load_cpu": load,
                "rss_mib": _rss_mib(os.getpid())}
    finally:
        db.close()


def main() -> int:
    global INTERVAL_S
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--slos", type=int, default=1000, help="SLOs (a multiple of 20)")
    ap.add_argument("--interval", type=int, default=INTERVAL_S,
                    help="group interval, seconds (both engines; longer when Prometheus cannot keep up)")
    ap.add_argument("--intervals", type=int, default=2, help="intervals over which Prometheus' CPU is measured")
    ap.add_argument("--work", type=Path, default=OUT / "rules", help="working directory (data, rules)")
    ap.add_argument("--reuse", action="store_true", help="reuse data and rules prepared in --work before")
    ap.add_argument("--engines", default="prometheus,sloguard",
                    help="which to run; sloguard evaluates at the middle of Prometheus' measured window")
    ap.add_argument("--at", type=float, default=0.0,
                    help="unix seconds sloguard's measured cycle ends at (default: now, or Prometheus' window)")
    a = ap.parse_args()
    INTERVAL_S = a.interval
    services = max(1, a.slos // 20)
    title = f"## Rule evaluation: {services * 20:,} SLOs, one full cycle\n"
    if shutil.which("promtool") is None or shutil.which("prometheus") is None:
        print(f"{title}\nskipped: prometheus/promtool not on PATH (scripts/install-peers)\n")
        return 0
    work: Path = a.work.resolve()  # Prometheus reads rule_files relative to its config file
    if a.reuse and (work / "slo.rules.yml").exists():
        rules, prom_data, slo_data = work / "slo.rules.yml", work / "prom", work / "sloguard"
        rules.write_text(re.sub(r"(?m)^  interval: .*$", f"  interval: {INTERVAL_S}s", rules.read_text()))
        end_s = int((work / "end_s").read_text()) if (work / "end_s").exists() else int(time.time())
    else:
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        end_s = int(time.time()) - 60
        (work / "end_s").write_text(str(end_s))
        rules, prom_data, slo_data = prepare(work, end_s, services)
    n_groups = sum(1 for line in rules.read_text().splitlines() if line.startswith("- name: "))
    n_rules = sum(1 for line in rules.read_text().splitlines() if re.match(r"\s+- (record|alert): ", line))
    engines = a.engines.split(",")
    res: dict[str, dict[str, float]] = {}
    if "prometheus" in engines:
        log(f"Prometheus cycle ({n_groups} groups, interval {INTERVAL_S}s)")
        load_p = os.getloadavg()[0]
        res["prometheus"] = {**prometheus_cycle(work, rules, prom_data, n_groups, a.intervals), "load": load_p,
                             "load_after": os.getloadavg()[0]}
        log(json.dumps(res["prometheus"]))
    if "sloguard" in engines:
        at = a.at or (sum((res["prometheus"]["t0"], res["prometheus"]["t1"])) / 2 if "prometheus" in res else time.time())
        log(f"sloguard cycle at {at:.0f} (data ends {end_s}, {at - end_s:.0f} s before)")
        run = work / "sloguard-run"  # rule outputs go to a copy: every run starts from the imported data
        shutil.rmtree(run, ignore_errors=True)
        shutil.copytree(slo_data, run)
        load_s = os.getloadavg()[0]
        res["sloguard"] = {**sloguard_cycle(rules, run, int(at * 1000)), "load": load_s, "load_after": os.getloadavg()[0],
                           "at": at}
        shutil.rmtree(run, ignore_errors=True)
        log(json.dumps(res["sloguard"]))
    (work / "result.json").write_text(json.dumps(res, indent=1))
    print(title)
    print(f"{os.cpu_count()} cores. Standard workload ({HOURS} h ending at the data's end, {services * 90:,} series), "
          f"{n_groups} groups / {n_rules} rules from `sloguard slo rules`, group interval {INTERVAL_S}s.\n")
    print("| engine | CPU per cycle | sum of group evaluation times | load average (1m) before / after |\n|---|---|---|---|")
    if "prometheus" in res:
        p = res["prometheus"]
        print(f"| Prometheus 2.42 | {p['cpu']:.2f} s ({p['cycles']:.2f} cycles measured) | {p['durations']:.2f} s "
              f"(groups run concurrently) | {p['load']:.2f} / {p['load_after']:.2f} |")
    if "sloguard" in res:
        s_ = res["sloguard"]
        print(f"| sloguard | {s_['cpu']:.2f} s | {s_['durations']:.2f} s (groups in sequence) | "
              f"{s_['load']:.2f} / {s_['load_after']:.2f} |\n")
        print(f"sloguard: loading the rules took {s_['load_cpu']:.1f} CPU-s; rules with errors: {s_['bad']:.0f}; "
              f"peak RSS {s_['rss_mib']:.0f} MiB.\n")
    if len(res) == 2:
        p, s_ = res["prometheus"], res["sloguard"]
        print(f"CPU ratio sloguard/Prometheus: **{s_['cpu'] / p['cpu']:.2f}** (target <= 1); ratio of the sums of group "
              f"evaluation times (Prometheus' `prometheus_rule_group_last_duration_seconds`): "
              f"**{s_['durations'] / p['durations']:.2f}**. Prometheus peak RSS {p['rss_mib']:.0f} MiB.\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
