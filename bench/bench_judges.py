#!/usr/bin/env python3
"""Time-to-detect of the sequential judge against a fixed-threshold check (Flagger-style),
at equal false-rollback rate, by seeded simulation; and the judges' power figures quoted
in docs/delivery.md.

Traffic: 1,000 requests/s in total, 5 % to the canary and 5 % to a fresh baseline running
the stable version, 20 looks, a 1 % error rate in the stable version. The bad canary has
twice the stable error rate. Two worlds:

- steady: the stable error rate is exactly 1 % in every run and at every look;
- varying: the stable rate differs between runs (lognormal, shape 0.5: a 90 % range of
  0.44 % to 2.3 %) and drifts between looks (shape 0.2), the same for canary and baseline
  (they see the same traffic mix), as error rates do over a day.

The sequential judge (mixture SPRT, alpha 0.05) sees cumulative counts of both arms. The
fixed check fails at the first look whose interval error rate of the canary (Flagger
queries a rate over the last interval) is above a threshold; the threshold is tuned on
separate identical-canary runs to the lowest value whose false-rollback rate over the 20
looks is not above the judge's measured one (and, for reference, not above alpha); a
variant rolls back at the 5th failed check, as Flagger does with ``threshold: 5``. For
contrast, the z-test re-run on the cumulative counts at every look (the naive way).
Time-to-detect: mean over runs of the look of the first FAIL, runs that never fail
counted as look 21 (so the fixed check's figure is a lower bound). Not a test.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sloguard.delivery.judges import (  # noqa: E402
    ProportionSettings,
    SequentialSettings,
    SpendingSettings,
    TailSettings,
    z_test,
)
from sloguard.delivery.judges.testing import (  # noqa: E402
    Traffic,
    error_counts,
    first_fail,
    fixed_looks,
    latency_histograms,
    lognormal_sigma_for_p99,
    sequential_looks,
    spending_tail_looks,
)

RUNS_NULL = int(os.environ.get("BENCH_JUDGES_NULL_RUNS", 2000))
RUNS_BAD = int(os.environ.get("BENCH_JUDGES_BAD_RUNS", 1000))
RUNS_TUNE = 20_000
ALPHA = 0.05
WORLDS = {"steady": (0.0, 0.0), "varying": (0.5, 0.2)}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def judge_fails(traffic: Traffic, runs: int, ratio: float, world: str, seed: int, planned: bool = False) -> np.ndarray:
    """First FAIL of the sequential judge per run: the mSPRT (Ville's 1/alpha), or with
    ``planned`` the group-sequential design that knows the run's number of looks."""
    b, c = error_counts(np.random.default_rng(seed), traffic, runs, ratio, *WORLDS[world])
    s = SequentialSettings(alpha=ALPHA, looks=traffic.looks if planned else 0)
    return np.array([first_fail(sequential_looks(b[r], c[r], traffic, s)) for r in range(runs)])


def naive_fails(traffic: Traffic, runs: int, ratio: float, world: str, seed: int) -> np.ndarray:
    b, c = error_counts(np.random.default_rng(seed), traffic, runs, ratio, *WORLDS[world])
    s = ProportionSettings(alpha=ALPHA)
    return np.array([first_fail(fixed_looks(z_test, b[r], c[r], traffic, s)) for r in range(runs)])


def interval_rates(traffic: Traffic, runs: int, ratio: float, world: str, seed: int) -> np.ndarray:
    _, c = error_counts(np.random.default_rng(seed), traffic, runs, ratio, *WORLDS[world])
    return np.diff(c, axis=1, prepend=0) / traffic.per_look


def threshold_fails(rates: np.ndarray, threshold: float, checks: int = 1) -> np.ndarray:
    """The look at which the ``checks``-th interval above ``threshold`` happens (Flagger
    rolls back when its count of failed checks reaches ``analysis.threshold``)."""
    reached = (rates > threshold).cumsum(axis=1) >= checks
    return np.where(reached.any(axis=1), reached.argmax(axis=1) + 1.0, np.inf)


def tune(null_rates: np.ndarray, target: float, checks: int = 1) -> float:
    """The lowest threshold whose false-rollback rate is at most ``target``."""
    candidates = np.unique(null_rates)
    lo, hi = 0, candidates.size - 1  # the rate falls as the threshold rises: bisect
    while lo < hi:
        mid = (lo + hi) // 2
        if np.isfinite(threshold_fails(null_rates, candidates[mid], checks)).mean() <= target:
            hi = mid
        else:
            lo = mid + 1
    return float(candidates[lo])


def ttd(fails: np.ndarray, looks: int) -> float:
    return float(np.minimum(fails, looks + 1).mean())


def compare(world: str, interval_s: float) -> list[str]:
    traffic = Traffic(interval_s=interval_s)
    t0 = time.process_time()
    judge_null = judge_fails(traffic, RUNS_NULL, 1.0, world, 1)
    judge_bad = judge_fails(traffic, RUNS_BAD, 2.0, world, 2)
    fpr = float(np.isfinite(judge_null).mean())
    tune_rates = interval_rates(traffic, RUNS_TUNE, 1.0, world, 3)
    check_null = interval_rates(traffic, RUNS_NULL, 1.0, world, 1)
    check_bad = interval_rates(traffic, RUNS_BAD, 2.0, world, 2)
    rows, j_ttd = [], ttd(judge_bad, traffic.looks)
    rows.append(_row(world, interval_s, "sequential judge (alpha 0.05)", fpr, judge_bad, traffic, j_ttd))
    planned_null, planned_bad = (judge_fails(traffic, RUNS_NULL, 1.0, world, 1, True),
                                 judge_fails(traffic, RUNS_BAD, 2.0, world, 2, True))  # fmt: skip
    rows.append(_row(world, interval_s, "sequential judge, 20 planned looks (alpha 0.05)",
                     float(np.isfinite(planned_null).mean()), planned_bad, traffic, j_ttd))  # fmt: skip
    naive_null, naive_bad = naive_fails(traffic, RUNS_NULL, 1.0, world, 1), naive_fails(traffic, RUNS_BAD, 2.0, world, 2)
    rows.append(_row(world, interval_s, "z-test at every look (alpha 0.05, naive)",
                     float(np.isfinite(naive_null).mean()), naive_bad, traffic, j_ttd))  # fmt: skip
    for label, target, checks in (("judge's", fpr, 1), ("alpha's", ALPHA, 1), ("judge's", fpr, 5)):
        thr = tune(tune_rates, target, checks)
        fails_null, fails_bad = threshold_fails(check_null, thr, checks), threshold_fails(check_bad, thr, checks)
        after = "" if checks == 1 else f", rollback at the {checks}th failed check"
        name = f"fixed threshold {thr:.2%} (tuned to the {label} rate{after})"
        rows.append(_row(world, interval_s, name, float(np.isfinite(fails_null).mean()), fails_bad, traffic, j_ttd))
    log(f"{world} {interval_s:g}s: {time.process_time() - t0:.1f} CPU s")
    return rows


def _row(world: str, interval_s: float, name: str, fpr: float, bad: np.ndarray, t: Traffic, j_ttd: float) -> str:
    power, mean = float(np.isfinite(bad).mean()), ttd(bad, t.looks)
    median = float(np.median(bad)) * interval_s
    med = "never" if not np.isfinite(median) else f"{median:.0f} s"
    return (f"| {world} | {interval_s:g} s | {name} | {fpr:.3f} | {power:.3f} | {med} | "
            f"{mean * interval_s:.0f} s | {mean / j_ttd:.2f} |")  # fmt: skip


HORIZON_S = 600.0
THRESHOLD_INTERVALS = (10.0, 15.0, 20.0, 30.0, 40.0, 60.0)
FINE_S = 1.0  # the judge's finer looks, reported apart from the headline


JUDGE_ROWS = (  # name, baseline share (None: fresh), look interval, planned looks
    ("stable pool (90 %)", 0.9, 5.0, False), ("stable pool (90 %)", 0.9, 10.0, False),
    ("fresh baseline (5 %)", None, 10.0, False), ("stable pool (90 %), finer looks", 0.9, FINE_S, False),
    ("stable pool (90 %), planned looks", 0.9, 5.0, True), ("fresh baseline (5 %), planned looks", None, 10.0, True),
    ("stable pool (90 %), planned looks, finer looks", 0.9, FINE_S, True),
)  # fmt: skip
#: The rows whose false-rollback rate the thresholds are tuned to, for the ratios reported.
HEADLINES = {"mSPRT, 5 s": 0, f"mSPRT, {FINE_S:g} s": 3, "planned, 5 s": 4, f"planned, {FINE_S:g} s": 6}


def horizon_rows(world: str) -> tuple[list[str], dict[str, float]]:
    """Each check at its own look interval over the same 10-minute horizon: the sequential
    judge against the stable pool (90 % of the traffic is the baseline; it stays valid
    however often it looks) at 5 s (the headline) and 10 s looks, against a fresh 5 %
    baseline at 10 s, and, apart, at 1 s looks; each as the mSPRT (Ville's 1/alpha, no
    horizon) and as the planned-looks design (the horizon's number of looks known); the
    fixed threshold on the canary's interval rate at each of THRESHOLD_INTERVALS, tuned to
    the false-rollback rate the first judge row showed over the same horizon. Returns the
    rows and, per HEADLINES row, the best threshold's mean time-to-detect over that
    row's (each threshold re-tuned to that row's false-rollback rate)."""
    rows, judged = [], []
    for name, share, iv, planned in JUDGE_ROWS:
        t = Traffic(interval_s=iv, looks=int(HORIZON_S / iv), baseline_share=share)
        null_runs = RUNS_NULL if iv >= 5 else RUNS_NULL // 2
        null, bad = judge_fails(t, null_runs, 1.0, world, 21, planned), judge_fails(t, RUNS_BAD, 2.0, world, 22, planned)
        fpr, mean = float(np.isfinite(null).mean()), ttd(bad, t.looks) * iv
        judged.append((fpr, mean))
        rows.append(_hrow(f"sequential judge, baseline: {name}", iv, fpr, bad, mean, judged[0][1]))
    best = dict.fromkeys(HEADLINES, np.inf)
    for iv in THRESHOLD_INTERVALS:
        t = Traffic(interval_s=iv, looks=int(HORIZON_S / iv))
        tune_rates = interval_rates(t, RUNS_TUNE, 1.0, world, 23)
        null_rates, bad_rates = interval_rates(t, RUNS_NULL, 1.0, world, 21), interval_rates(t, RUNS_BAD, 2.0, world, 22)
        thr = tune(tune_rates, judged[0][0])
        bad = threshold_fails(bad_rates, thr)
        mean = ttd(bad, t.looks) * iv
        fpr = float(np.isfinite(threshold_fails(null_rates, thr)).mean())
        rows.append(_hrow(f"fixed threshold {thr:.2%} on the canary", iv, fpr, bad, mean, judged[0][1]))
        for key, row in HEADLINES.items():
            fails = threshold_fails(bad_rates, tune(tune_rates, judged[row][0]))
            best[key] = min(best[key], ttd(fails, t.looks) * iv)
    return rows, {key: best[key] / judged[row][1] for key, row in HEADLINES.items()}


def _hrow(name: str, iv: float, fpr: float, bad: np.ndarray, mean: float, judge_ttd: float) -> str:
    median = float(np.median(bad)) * iv
    med = "never" if not np.isfinite(median) else f"{median:.0f} s"
    return f"| {name} | {iv:g} s | {fpr:.3f} | {float(np.isfinite(bad).mean()):.3f} | {med} | {mean:.0f} s | {mean / judge_ttd:.2f} |"


def tail_figures(interval_s: float) -> str:
    traffic = Traffic(interval_s=interval_s)
    rng, runs = np.random.default_rng(7), RUNS_BAD // 2
    slow = lognormal_sigma_for_p99(0.5, 1.3)
    tail, spend = TailSettings(alpha=ALPHA), SpendingSettings(alpha=ALPHA, looks=traffic.looks)
    out = []
    for name, sigma in (("identical", 0.5), ("p99 +30 %", slow)):
        b = latency_histograms(rng, traffic, runs, 0.1, 0.5)
        c = latency_histograms(rng, traffic, runs, 0.1, sigma)
        fails = np.array([first_fail(spending_tail_looks(b[r], c[r], tail, spend)) for r in range(runs)])
        med = float(np.median(fails)) * interval_s
        out.append(f"| tail (p99, Pocock spending) | {interval_s:g} s | {name} | {np.isfinite(fails).mean():.3f} | "
                   f"{'never' if not np.isfinite(med) else f'{med:.0f} s'} |")  # fmt: skip
    return "\n".join(out)


def error_figures(interval_s: float) -> str:
    traffic = Traffic(interval_s=interval_s)
    out = []
    for name, ratio, seed in (("identical", 1.0, 11), ("2x error rate", 2.0, 12)):
        fails = judge_fails(dataclasses.replace(traffic), RUNS_BAD // 2, ratio, "steady", seed)
        med = float(np.median(fails)) * interval_s
        out.append(f"| sequential (mSPRT) | {interval_s:g} s | {name} | {np.isfinite(fails).mean():.3f} | "
                   f"{'never' if not np.isfinite(med) else f'{med:.0f} s'} |")  # fmt: skip
    return "\n".join(out)


def main() -> int:
    t0 = time.time()
    rows = [r for world in WORLDS for iv in (10.0, 30.0) for r in compare(world, iv)]
    horizons = {world: horizon_rows(world) for world in WORLDS}
    figures = [error_figures(60.0), error_figures(10.0), tail_figures(60.0), tail_figures(10.0)]
    s = SequentialSettings()
    print("## Judges: sequential judge vs fixed threshold (bench_judges.py)\n")
    print(f"Seeded simulation: 1,000 requests/s, 5 % canary and 5 % fresh baseline (50 requests/s each), "
          f"20 looks, stable error rate 1 %, bad canary 2x; {RUNS_NULL:,} identical-canary runs and "
          f"{RUNS_BAD:,} bad-canary runs per row; fixed thresholds tuned on {RUNS_TUNE:,} separate "
          "identical-canary runs. 'varying': the stable rate varies between runs (lognormal shape 0.5) and "
          "between looks (0.2), shared by both arms. Time-to-detect counts a run that never fails as "
          f"look 21. The judge: alpha {ALPHA}, mixture centred on a {s.target_ratio:g}x ratio, spread "
          f"{s.spread:g} (log ratio). {time.time() - t0:.0f} s wall.\n")  # fmt: skip
    print("| world | look every | check | false rollbacks (20 looks) | detected within 20 looks | "
          "median time-to-detect | mean time-to-detect | vs judge |")  # fmt: skip
    print("|---|---|---|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    for world, (horizon, ratios) in horizons.items():
        told = "; ".join(f"{key}: {ratio:.2f}x" for key, ratio in ratios.items())
        print(f"\nEach check at its own look interval, the same {HORIZON_S / 60:g}-minute horizon ({world} world, 1 % "
              "errors, 5 % canary; runs that never fail count as the horizon's end): the thresholds in the table are "
              "tuned to the false-rollback rate of the first row. Best fixed threshold (re-tuned to each judge row's "
              f"false-rollback rate) over that judge row's mean time-to-detect: {told}. Rows at {FINE_S:g} s looks use "
              f"{RUNS_NULL // 2:,} identical-canary runs; 'planned looks': SequentialSettings.looks = the horizon's "
              "looks.\n")  # fmt: skip
        print("| check | look every | false rollbacks (horizon) | detected within the horizon | median time-to-detect | "
              "mean time-to-detect | vs judge |")  # fmt: skip
        print("|---|---|---:|---:|---:|---:|---:|")
        print("\n".join(horizon))
    print("\nPower and time-to-detect quoted in docs/delivery.md (steady world; tail: lognormal latency, "
          "100 ms median, shape 0.5, the slow canary keeps the median and has a 30 % higher p99):\n")
    print("| judge | look every | canary | rollback rate within 20 looks | median time-to-detect |")
    print("|---|---|---|---:|---:|")
    print("\n".join(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
