#!/usr/bin/env python3
"""Where the SLO page's history time goes: ``slo.history.compute`` for bench_ui.py's
``checkout-availability`` (30 days of 4 counters at 60 s, 250 steps over 30 days), in-process
on a real TSDB, with cProfile's top functions. Not a test: ``python bench/ui_history_profile.py [DIR]``."""

from __future__ import annotations

import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_ui import DETAIL, DETAIL_DAYS, series_text  # noqa: E402

from sloguard.ingest.backfill import import_openmetrics  # noqa: E402
from sloguard.promql.engine import PromQLEngine  # noqa: E402
from sloguard.slo import budget as budget_mod  # noqa: E402
from sloguard.slo import history  # noqa: E402
from sloguard.slo.loader import load_text  # noqa: E402
from sloguard.tsdb import TSDB  # noqa: E402

SPEC = f"""apiVersion: sloguard/v1
slos:
  - name: {DETAIL}
    service: checkout
    objective: 99.9%
    period: 30d
    sli: {{ratio: {{bad: 'http_requests_total{{service="checkout",code="500"}}', total: 'http_requests_total{{service="checkout"}}'}}}}
"""


def main(root: Path) -> None:
    end = int(time.time()) // 60 * 60
    root.mkdir(parents=True, exist_ok=True)
    data = root / "data"
    if not data.exists():
        om = root / "c.om"
        om.write_text("# TYPE http_requests counter\n" + "\n".join(series_text("checkout", end - DETAIL_DAYS * 86400, end, 40.0))
                      + "\n# EOF\n")
        import_openmetrics(om, data)
    slos, problems = load_text(SPEC, "bench.yml")
    assert not problems, problems
    db = TSDB.open(data)
    try:
        engine = PromQLEngine(db)
        end_ms = end * 1000
        start_ms = end_ms - DETAIL_DAYS * 86_400_000
        step = history.default_step_ms(start_ms, end_ms)
        history.compute(engine, slos[0], start_ms, end_ms, step)  # warm
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            history.compute(engine, slos[0], start_ms, end_ms, step)
            times.append(time.perf_counter() - t0)
        print(f"history.compute, 250 steps over 30 days: {sorted(times)[1] * 1000:.0f} ms (median of 3: {times})")
        budget = budget_mod

        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            budget.compute(engine, slos[0], end_ms)
            times.append(time.perf_counter() - t0)
        print(f"budget.compute at the end: {sorted(times)[1] * 1000:.0f} ms (median of 3: {times})")
        prof = cProfile.Profile()
        prof.enable()
        history.compute(engine, slos[0], start_ms, end_ms, step)
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    finally:
        db.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()))
