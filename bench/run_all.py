#!/usr/bin/env python3
"""Run every benchmark script in bench/ and collect their markdown into bench/RESULTS.md.

Each ``bench_*.py`` prints a markdown section to stdout (figures with the machine's core
count). A script that fails is reported with its exit code and the tail of its stderr,
and the other benchmarks still run. ``BENCH_ONLY=promql,backfill`` runs a subset.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _selected() -> list[Path]:
    scripts = sorted(HERE.glob("bench_*.py"))
    only = {s.strip() for s in os.environ.get("BENCH_ONLY", "").split(",") if s.strip()}
    if only:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in only]
    return scripts


def _run(script: Path) -> str:
    print(f"== {script.name}", file=sys.stderr, flush=True)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
    sys.stderr.write(proc.stderr[-4000:])
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        return f"## {script.stem}\n\nFAILED (exit {proc.returncode}):\n\n```\n{tail}\n```\n"
    return proc.stdout.strip() + "\n"


def main() -> int:
    head = (
        f"# Benchmark results\n\nRun {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.\n"
        "Produced by `make bench` (bench/run_all.py); each section comes from one script.\n"
    )
    sections = [_run(s) for s in _selected()]
    text = head + "\n" + "\n".join(sections)
    out = HERE / "RESULTS.md"
    if os.environ.get("BENCH_ONLY") and out.exists():
        print(text)
        print(f"(subset run: {out} left unchanged)", file=sys.stderr)
        return 0
    out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
