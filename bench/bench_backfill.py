#!/usr/bin/env python3
"""Backfill: ``sloguard import openmetrics`` vs ``promtool tsdb create-blocks-from openmetrics``.

Generates the standard OpenMetrics file once (``/work/shared/bench/gen_openmetrics.py``
or ``bench/gen_openmetrics.py``; cached under ``bench/out/``), then times both tools on it
in one run (each writing into a fresh directory) and compares wall time and bytes per
sample (``du`` of the block directories / samples). Prints a markdown section.

    .venv/bin/python bench/bench_backfill.py [--services 50 --instances 10 --hours 6]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
GENERATORS = [HERE / "gen_openmetrics.py", Path("/work/shared/bench/gen_openmetrics.py")]


def _generate(a: argparse.Namespace) -> Path:
    out = HERE / "out" / f"openmetrics-s{a.services}-i{a.instances}-h{a.hours:g}.om"
    if out.exists():
        return out
    gen = next((g for g in GENERATORS if g.exists()), None)
    if gen is None:
        raise SystemExit("gen_openmetrics.py not found in bench/ or /work/shared/bench/")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        subprocess.run([sys.executable, str(gen), "--services", str(a.services), "--instances",
                        str(a.instances), "--hours", str(a.hours)], stdout=f, check=True)
    tmp.rename(out)
    return out


def _du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--services", type=int, default=50)
    ap.add_argument("--instances", type=int, default=10)
    ap.add_argument("--hours", type=float, default=6)
    a = ap.parse_args()
    src = _generate(a)
    with open(src, "rb") as f:
        samples = sum(1 for line in f if not line.startswith(b"#"))
    sloguard = [sys.executable, "-c", "from sloguard.cli import main; main()",
                "import", "openmetrics", str(src), "--quiet"]
    promtool = shutil.which("promtool")
    with tempfile.TemporaryDirectory(prefix="sloguard-bench-backfill-") as tmp:
        sg_dir, pt_dir = Path(tmp, "sloguard"), Path(tmp, "promtool")
        t_sg = _timed([*sloguard, "--data-dir", str(sg_dir)])
        sg_bytes = _du(sg_dir)
        t_pt = pt_bytes = None
        if promtool:
            t_pt = _timed([promtool, "tsdb", "create-blocks-from", "openmetrics", str(src), str(pt_dir)])
            pt_bytes = _du(pt_dir)
    print("## Backfill (bench_backfill.py)\n")
    print(f"- machine: {os.cpu_count()} cores (os.cpu_count())")
    print(f"- input: {src.name}, {src.stat().st_size / 1e6:,.0f} MB, {samples:,} samples")
    print(f"- sloguard import openmetrics: {t_sg:.1f} s ({samples / t_sg:,.0f} samples/s), "
          f"{sg_bytes:,} bytes on disk = {sg_bytes / samples:.2f} bytes/sample")
    if t_pt is None or pt_bytes is None:
        print("- promtool: not on PATH, comparison skipped")
        return 0
    print(f"- promtool tsdb create-blocks-from openmetrics: {t_pt:.1f} s ({samples / t_pt:,.0f} samples/s), "
          f"{pt_bytes:,} bytes on disk = {pt_bytes / samples:.2f} bytes/sample")
    ratio = t_sg / t_pt
    print(f"- **wall-time ratio sloguard/promtool: {ratio:.2f}** (target <= 1.00: "
          f"{'met' if ratio <= 1.0 else 'NOT met'}); size ratio {sg_bytes / pt_bytes:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
