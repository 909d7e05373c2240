#!/usr/bin/env python3
"""The sequential judge with and without a known number of looks, away from the bench's
headline case: false rollbacks of an identical canary and mean time-to-detect of a 1.5x,
2x and 3x canary at other base error rates, canary shares and look intervals, against the
best fixed threshold (Flagger-style, on the canary's interval error rate, each look
interval of bench_judges.THRESHOLD_INTERVALS) tuned to the planned design's false-rollback
rate. Steady world, 1,000 requests/s, a 10-minute horizon, the stable pool (the rest of
the traffic) as the baseline. Seeded simulation; not a test; figures for bench/RESULTS.md.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_judges import THRESHOLD_INTERVALS, threshold_fails, ttd, tune  # noqa: E402

from sloguard.delivery.judges import SequentialSettings  # noqa: E402
from sloguard.delivery.judges.testing import Traffic, error_counts, first_fail, sequential_looks  # noqa: E402

ALPHA, HORIZON_S, RUNS_NULL, RUNS_BAD, RUNS_TUNE = 0.05, 600.0, 1000, 300, 20_000
RATIOS = (1.5, 2.0, 3.0)
CASES = (  # error rate, canary share, look interval (s)
    (0.01, 0.05, 5.0), (0.001, 0.05, 5.0), (0.05, 0.05, 5.0), (0.01, 0.20, 5.0),
    (0.01, 0.05, 1.0), (0.01, 0.05, 30.0),
)  # fmt: skip


def fails(t: Traffic, runs: int, ratio: float, seed: int, looks: int) -> np.ndarray:
    b, c = error_counts(np.random.default_rng(seed), t, runs, ratio)
    s = SequentialSettings(alpha=ALPHA, looks=looks)
    return np.array([first_fail(sequential_looks(b[r], c[r], t, s)) for r in range(runs)])


def best_threshold(error_rate: float, share: float, target: float, ratio: float) -> float:
    """The best fixed threshold's mean time-to-detect over the horizon, each look interval
    tuned to ``target`` false rollbacks."""
    best = np.inf
    for iv in THRESHOLD_INTERVALS:
        t = Traffic(canary_share=share, interval_s=iv, looks=int(HORIZON_S / iv), error_rate=error_rate)
        _, tune_c = error_counts(np.random.default_rng(23), t, RUNS_TUNE, 1.0)
        _, bad_c = error_counts(np.random.default_rng(22), t, RUNS_BAD, ratio)
        thr = tune(np.diff(tune_c, axis=1, prepend=0) / t.per_look, target)
        bad = threshold_fails(np.diff(bad_c, axis=1, prepend=0) / t.per_look, thr)
        best = min(best, ttd(bad, t.looks) * iv)
    return float(best)


def main() -> int:
    t0 = time.time()
    print("| errors | canary | look every | false rollbacks: mSPRT / planned | "
          + " | ".join(f"{r:g}x: mSPRT / planned / threshold (ratio)" for r in RATIOS) + " |")  # fmt: skip
    print("|---|---|---|---|" + "---|" * len(RATIOS))
    for rate, share, iv in CASES:
        t = Traffic(canary_share=share, interval_s=iv, looks=int(HORIZON_S / iv), error_rate=rate,
                    baseline_share=1 - share)  # fmt: skip
        null_runs = RUNS_NULL if t.looks <= 120 else RUNS_NULL // 2
        frr = [float(np.isfinite(fails(t, null_runs, 1.0, 31, looks)).mean()) for looks in (0, t.looks)]
        cells = []
        for ratio in RATIOS:
            means = [ttd(fails(t, RUNS_BAD, ratio, 32, looks), t.looks) * iv for looks in (0, t.looks)]
            thr = best_threshold(rate, share, frr[1], ratio)
            cells.append(f"{means[0]:.1f} s / **{means[1]:.1f} s** / {thr:.1f} s ({thr / means[1]:.2f}x)")
        print(f"| {rate:.1%} | {share:.0%} | {iv:g} s | {frr[0]:.3f} / {frr[1]:.3f} | " + " | ".join(cells) + " |",
              flush=True)  # fmt: skip
    print(f"\n{RUNS_NULL:,} identical-canary runs per cell ({RUNS_NULL // 2:,} at 1 s looks), {RUNS_BAD} bad-canary "
          f"runs, thresholds tuned on {RUNS_TUNE:,} separate runs; {time.time() - t0:.0f} s wall.")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
