#!/usr/bin/env python3
"""Remote write out: sloguard's queue against Prometheus' own remote write, to VictoriaMetrics.

Throughput: the same series (``--series`` series x ``--steps`` samples, one request per
step, like a scrape) are pushed into each sender over its remote write receiver:
``sloguard serve`` and ``prometheus --web.enable-remote-write-receiver``, each with one
``remote_write`` to its own VictoriaMetrics (default ``queue_config`` on both). The
sender's CPU seconds (user + system, ``/proc``) are measured from the first push until
its ``prometheus_remote_storage_samples_total`` reaches every sample; each sender is also
run without ``remote_write`` on the same input, and the difference is the CPU its remote
write costs. samples/s per core = samples / CPU seconds.

Outage: ``sloguard serve`` writes to VictoriaMetrics, which is stopped for ``--outage``
seconds (a minute) while samples keep coming, then started again; every sample must be
in VictoriaMetrics afterwards, exactly once (raw export). Prints a markdown section.

    .venv/bin/python bench/bench_remote_write_out.py [--series 10000] [--steps 60] [--outage 60]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]
os.environ["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])  # the served code

from tests.e2e.conftest import SloguardProcess  # noqa: E402
from tests.remote._wpeers import (  # noqa: E402
    PROM_BIN,
    VM_BIN,
    PrometheusReceiver,
    Receiver,
    VictoriaMetrics,
    have,
)

from sloguard.ingest.remote_write import encode_write_request  # noqa: E402
from sloguard.labels import Labels  # noqa: E402

HEADERS = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf"}


def _labels(prefix: str, series: int) -> list[Labels]:
    return [Labels.of(__name__=f"{prefix}_{i % 20}", instance=f"host-{i // 20}", job="bench") for i in range(series)]


def bodies(prefix: str, series: int, steps: int, t0: int) -> list[bytes]:
    """One remote write body per step, ``series`` series each (value ``7 i + k``)."""
    labels = _labels(prefix, series)
    return [encode_write_request([(ls, [t0 + k * 1000], [float(i * 7 + k)]) for i, ls in enumerate(labels)])
            for k in range(steps)]


def expected(prefix: str, series: int, steps: int, t0: int) -> dict[tuple[tuple[str, str], ...], list[tuple[int, float]]]:
    """The raw samples ``bodies`` holds, as a receiver's export shows them."""
    return {tuple(sorted(ls)): [(t0 + k * 1000, float(i * 7 + k)) for k in range(steps)]
            for i, ls in enumerate(_labels(prefix, series))}


def cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0


def push(url: str, body: bytes, client: httpx.Client) -> None:
    r = client.post(f"{url}/api/v1/write", content=body, headers=HEADERS)
    if r.status_code // 100 != 2:
        raise SystemExit(f"push to {url} failed: {r.status_code} {r.text[:200]}")


def wait(cond: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.25)


def start_sender(kind: str, tmp: Path, vm: Receiver | None) -> tuple[str, int, Callable[[], None]]:
    """(base URL, pid, stop) of a sender, with ``remote_write`` to ``vm`` if given."""
    rw = f"remote_write:\n  - url: {vm.write_url}\n    name: vm\n" if vm else ""
    if kind == "sloguard":
        cfg = tmp / "sloguard.yml"
        cfg.write_text("global: {scrape_interval: 1h}\nstorage: {tsdb: {fsync: per_commit}}\n" + rw)
        sg = SloguardProcess(tmp / "sg-data", cfg, tmp / "sloguard.log").start()
        assert sg.proc is not None
        return sg.url, sg.proc.pid, lambda: (sg.stop(), None)[1]
    prom = PrometheusReceiver(tmp / "prom-data", tmp / "prometheus.log")
    prom.config_extra = rw
    prom.start()
    assert prom.proc is not None
    return prom.url, prom.proc.pid, prom.stop


def measure(kind: str, with_rw: bool, series: int, steps: int) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of ``kind`` taking the series (and sending them on).
    Timestamps start after the sender did: Prometheus' WAL watcher skips samples older
    than its start."""
    n = series * steps
    with tempfile.TemporaryDirectory(prefix="rwout-") as d:
        tmp = Path(d)
        vm = VictoriaMetrics(tmp / "vm-data", tmp / "vm.log").start() if with_rw else None
        url, pid, stop = start_sender(kind, tmp, vm)
        try:
            reqs = bodies("rwb", series, steps, int(time.time() * 1000) + 1000)
            time.sleep(2.0)  # let start-up work settle
            cpu0, t0 = cpu_of(pid), time.monotonic()
            with httpx.Client(timeout=60) as client:
                for body in reqs:
                    push(url, body, client)
            if vm is not None:  # asked of the receiver: polling the sender's /metrics would cost it CPU
                wait(lambda: count_in_vm(vm, "rwb_.*", fast=True) >= n, 120, f"{kind} to send {n} samples")
            cpu, wall = cpu_of(pid) - cpu0, time.monotonic() - t0
            if vm is not None:
                got = count_in_vm(vm, "rwb_.*")
                if got != n:
                    raise SystemExit(f"VictoriaMetrics holds {got} samples from {kind}, expected {n}")
        finally:
            stop()
            if vm is not None:
                vm.stop()
    return cpu, wall


def measure_catchup(kind: str, series: int, steps: int) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of ``kind`` sending a backlog: everything is pushed while
    its VictoriaMetrics is down, then VictoriaMetrics starts and the sender's CPU is
    measured until every sample arrived, so only remote write (reading the WAL, encoding,
    sending, retrying) runs in the measured time."""
    n = series * steps
    with tempfile.TemporaryDirectory(prefix="rwout-") as d:
        tmp = Path(d)
        vm = VictoriaMetrics(tmp / "vm-data", tmp / "vm.log")  # not started yet: the outage
        url, pid, stop = start_sender(kind, tmp, vm)
        try:
            reqs = bodies("rwb", series, steps, int(time.time() * 1000) + 1000)
            with httpx.Client(timeout=60) as client:
                for body in reqs:
                    push(url, body, client)
            time.sleep(3.0)  # written, fsynced, retried against the closed port
            cpu0, t0 = cpu_of(pid), time.monotonic()
            vm.start()
            wait(lambda: count_in_vm(vm, "rwb_.*", fast=True) >= n, 180, f"{kind} to send its backlog of {n}")
            cpu, wall = cpu_of(pid) - cpu0, time.monotonic() - t0
        finally:
            stop()
            vm.stop()
    return cpu, wall


def count_in_vm(vm: Receiver, regex: str, fast: bool = False) -> int:
    if fast:
        httpx.get(f"{vm.url}/internal/force_flush", timeout=30)
        q = f'sum(count_over_time({{__name__=~"{regex}"}}[2h]))'
        res = httpx.get(f"{vm.url}/api/v1/query", params={"query": q, "time": time.time() + 3600}, timeout=30).json()
        result = res["data"]["result"]
        return int(float(result[0]["value"][1])) if result else 0
    raw = vm.raw(regex)
    return sum(len(v) for v in raw.values())


def throughput(series: int, steps: int, repeat: int) -> list[str]:
    """Each sender run ``repeat`` times taking the samples live and sending a backlog
    (alternating, so load from the rest of the machine hits both alike); medians shown."""
    n = series * steps
    rows, per_core = [], {}
    runs: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for _ in range(repeat):
        for kind in ("prometheus", "sloguard"):
            runs.setdefault((kind, "live"), []).append(measure(kind, True, series, steps))
            runs.setdefault((kind, "backlog"), []).append(measure_catchup(kind, series, steps))
    for kind in ("prometheus", "sloguard"):
        live_cpu = statistics.median(c for c, _ in runs[kind, "live"])
        live_wall = statistics.median(w for _, w in runs[kind, "live"])
        bl_cpu = statistics.median(c for c, _ in runs[kind, "backlog"])
        bl_wall = statistics.median(w for _, w in runs[kind, "backlog"])
        per_core[kind] = (n / live_cpu, n / bl_cpu)
        rows.append(f"| {kind} | {n:,} | {live_wall:.1f} | {live_cpu:.2f} | {n / live_cpu:,.0f} | "
                    f"{bl_wall:.1f} | {bl_cpu:.2f} | {n / bl_cpu:,.0f} |")
    ratio_live = per_core["sloguard"][0] / per_core["prometheus"][0]
    ratio_bl = per_core["sloguard"][1] / per_core["prometheus"][1]
    return [
        f"{series:,} series x {steps} samples, sent to VictoriaMetrics with the default `queue_config`; CPU = user + "
        f"system seconds of the sender process (median of {repeat} runs each). *Live*: the samples are pushed into "
        "the sender (remote write receiver, one request per step) and sent on; CPU from the first push until all "
        "arrived (receive + WAL + remote write). *Backlog*: the same samples were pushed while VictoriaMetrics was "
        "down; CPU from its start until all arrived (remote write alone: WAL reading, encoding, sending).",
        "",
        "| sender | samples | live: wall s | live: CPU s | live: samples/s per core | backlog: wall s | "
        "backlog: CPU s | backlog: samples/s per core |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"sloguard / Prometheus, samples/s per core: **{ratio_bl:.2f}x** sending (backlog, remote write alone; "
        f"target >= 1.0x), **{ratio_live:.2f}x** live (receive + WAL + remote write).",
    ]


def outage(series: int, seconds: int) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="rwout-") as d:
        tmp = Path(d)
        vm = VictoriaMetrics(tmp / "vm-data", tmp / "vm.log").start()
        url, _, stop = start_sender("sloguard", tmp, vm)
        t0 = (int(time.time()) - 3000) * 1000
        steps_a, steps_b, steps_c = 10, seconds, 10
        reqs = bodies("rwo", series, steps_a + steps_b + steps_c, t0)
        n = series * len(reqs)
        try:
            with httpx.Client(timeout=60) as client:
                for body in reqs[:steps_a]:
                    push(url, body, client)
                vm.stop()
                for body in reqs[steps_a:steps_a + steps_b]:  # one step a second while VictoriaMetrics is down
                    push(url, body, client)
                    time.sleep(1.0)
                vm.start()
                back = time.monotonic()
                for body in reqs[steps_a + steps_b:]:
                    push(url, body, client)
            wait(lambda: count_in_vm(vm, "rwo_.*", fast=True) >= n, 300, "every sample to arrive")
            caught_up = time.monotonic() - back
            raw = vm.raw("rwo_.*")
        finally:
            stop()
            vm.stop()
    stored = sum(len(v) for v in raw.values())
    dupes = sum(len(v) - len({t for t, _ in v}) for v in raw.values())
    equal = raw == expected("rwo", series, len(reqs), t0)
    return [
        f"VictoriaMetrics stopped for {seconds} s while sloguard kept receiving {series:,} series at one sample "
        "a second, then started again:",
        "",
        "| samples written | samples in VictoriaMetrics | lost | duplicates | all series and values equal | "
        "caught up after restart (s) |",
        "|---|---|---|---|---|---|",
        f"| {n:,} | {stored:,} | {n - stored + dupes:,} | {dupes:,} | {'yes' if equal else 'NO'} | {caught_up:.1f} |",
    ]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", type=int, default=10_000)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--outage", type=int, default=60)
    ap.add_argument("--outage-series", type=int, default=1_000)
    ap.add_argument("--only", choices=["throughput", "outage"], default=None)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print("## bench_remote_write_out\n")
    if not (have(VM_BIN) and have(PROM_BIN)):
        print(f"skipped: needs {VM_BIN} and {PROM_BIN} (scripts/install-peers)")
        return 0
    if args.only != "outage":
        print("\n".join(throughput(args.series, args.steps, args.repeat)))
        print()
    if args.only != "throughput":
        print("\n".join(outage(args.outage_series, args.outage)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
