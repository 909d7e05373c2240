#!/usr/bin/env python3
"""In-process rule cycles on data prepared by ``bench_rules.py --work DIR`` (its
``sloguard`` store, ``slo.rules.yml`` and ``end_s``), as the rule manager runs them: every
group at its slot in the interval, in time order, through ``RuleManager.evaluate`` (with
read-ahead), or ``--plain``: ``Group.eval`` one group at a time (no read-ahead). Prints
each cycle's CPU seconds and frame decodes; ``--groups N`` keeps the first N groups,
``--profile FILE`` writes a cProfile of the last cycle. Runs on a copy of the store.
Not a test. Example: ``rules_cycle.py bench/out/rules --groups 2000``.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import re
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("work", type=Path)
    ap.add_argument("--profile", default="")
    ap.add_argument("--at", type=float, default=0.0, help="unix seconds of the last cycle (default: data end + 60 s)")
    ap.add_argument("--cycles", type=int, default=2)
    ap.add_argument("--groups", type=int, default=0)
    ap.add_argument("--interval", type=int, default=60)
    ap.add_argument("--plain", action="store_true")
    a = ap.parse_args()

    import sloguard.tsdb._block as blk
    from sloguard.promql.engine import PromQLEngine
    from sloguard.rules import ManagerOptions, RuleManager, engine_query_func
    from sloguard.tsdb import TSDB

    text = re.sub(r"(?m)^  interval: .*$", f"  interval: {a.interval}s", (a.work / "slo.rules.yml").read_text())
    if a.groups:
        text = "\n- name: ".join(text.split("\n- name: ")[: a.groups + 1]) + "\n"
    tmp = Path(tempfile.mkdtemp(prefix="rules-cycle-"))
    try:
        (tmp / "rules.yml").write_text(text)
        shutil.copytree(a.work / "sloguard", tmp / "data")
        db = TSDB.open(tmp / "data")
        m = RuleManager(ManagerOptions(query=engine_query_func(PromQLEngine(db)), storage=db,
                                       default_interval_ms=a.interval * 1000))
        cpu0 = time.process_time()
        m.update([str(tmp / "rules.yml")])
        print(f"{a.work.name}: {len(m.groups())} groups, plain={a.plain}, load {time.process_time() - cpu0:.1f} CPU-s")
        decodes = [0]
        real = blk.Block._decode

        def counting(self: Any, *args: Any) -> Any:
            decodes[0] += 1
            return real(self, *args)

        blk.Block._decode = counting  # type: ignore[method-assign]
        at = int((a.at or int((a.work / "end_s").read_text()) + 60) * 1000)
        for c in range(a.cycles):
            ts = at - (a.cycles - 1 - c) * a.interval * 1000
            decodes[0] = 0
            prof = cProfile.Profile() if a.profile and c == a.cycles - 1 else None
            cpu0 = time.process_time()
            if prof:
                prof.enable()
            for g, t in m.cycle(ts):
                g.eval(t) if a.plain else m.evaluate(g, t)
            if prof:
                prof.disable()
                prof.dump_stats(a.profile)
            bad = sum(1 for g in m.groups() for r in g.rules if r.status.last_error)
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss >> 10
            print(f"cycle {c}: {time.process_time() - cpu0:.2f} CPU-s, {decodes[0]} frame decodes, {bad} rules in error, "
                  f"peak RSS {rss} MiB, load {os.getloadavg()[0]:.2f}")
        db.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
