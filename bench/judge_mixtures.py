#!/usr/bin/env python3
"""How the sequential judge's mixing distribution was chosen: false rollbacks and mean
time-to-detect of a 1.25x, 1.5x, 2x and 3x canary for several mixtures, by seeded
simulation (steady world, 1 % errors, 5 % canary, the stable pool (90 %) as the baseline,
a look every 5 s for 10 minutes; and 0.5 s looks for false rollbacks); and the price of
centring for a far worse canary seen on few errors.

The judge's likelihood ratios are vectorised over runs, looks and grid ratios here (the
per-interval exposures are constant, so the cumulative counts give the same products);
the default mixture is checked equal to the real ``sequential`` judge, look by look, on
200 runs first. Not a test; figures for bench/RESULTS.md.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sloguard.delivery.judges import SequentialSettings  # noqa: E402
from sloguard.delivery.judges.testing import Traffic, error_counts, first_fail, sequential_looks  # noqa: E402

ALPHA, HORIZON_S = 0.05, 600.0
RUNS_NULL, RUNS_BAD = 4000, 2000


def first_fails(
    b: np.ndarray, c: np.ndarray, t: Traffic, ratios: np.ndarray, log_w: np.ndarray, alpha: float = ALPHA
) -> np.ndarray:
    q0 = t.per_look / (t.per_look + t.baseline_per_look)
    q = ratios * q0 / (ratios * q0 + 1 - q0)
    log_lr = c[..., None] * np.log(q / q0) + b[..., None] * np.log((1 - q) / (1 - q0)) + log_w
    top = log_lr.max(axis=-1)
    log_mix = top + np.log(np.exp(log_lr - top[..., None]).sum(axis=-1))
    hit = log_mix >= math.log(1 / alpha)
    return np.where(hit.any(axis=1), hit.argmax(axis=1) + 1.0, np.inf)


def mixtures() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    flat = np.exp(np.linspace(math.log(1.05), math.log(4.0), 24))
    out = {"before: equal weights, 24 ratios 1.05x-4x": (flat, np.full(24, -math.log(24)))}
    for target, spread in ((1.5, 0.3), (1.8, 0.3), (2.0, 0.3), (2.0, 0.2), (1.8, 1.0)):
        s = SequentialSettings(target_ratio=target, spread=spread)
        default = " (the default)" if s == SequentialSettings() else ""
        out[f"normal on log r, centre {target:g}x, spread {spread:g}{default}"] = (s.ratios(), s.log_weights())
    out["half-normal on log r, scale log 2"] = _half_normal(math.log(2.0))
    out["point mass at 2x (plain SPRT, knows the effect)"] = (np.array([2.0]), np.zeros(1))
    return out


def _half_normal(scale: float) -> tuple[np.ndarray, np.ndarray]:
    ratios = SequentialSettings().ratios()
    log_w = -0.5 * (np.log(ratios) / scale) ** 2
    return ratios, log_w - math.log(float(np.exp(log_w).sum()))


def check_equal_to_judge() -> None:
    t = Traffic(interval_s=5.0, looks=60, baseline_share=0.9)
    b, c = error_counts(np.random.default_rng(5), t, 200, 2.0)
    s = SequentialSettings()
    real = np.array([first_fail(sequential_looks(b[r], c[r], t, s)) for r in range(200)])
    if not np.array_equal(real, first_fails(b, c, t, s.ratios(), s.log_weights())):
        raise SystemExit("the vectorised judge differs from sequential(): figures would be wrong")


def main() -> int:
    check_equal_to_judge()
    t = Traffic(interval_s=5.0, looks=int(HORIZON_S / 5.0), baseline_share=0.9)
    fine = Traffic(interval_s=0.5, looks=int(HORIZON_S / 0.5), baseline_share=0.9)
    null = error_counts(np.random.default_rng(31), t, RUNS_NULL, 1.0)
    null_fine = error_counts(np.random.default_rng(33), fine, RUNS_NULL // 2, 1.0)
    bad = {r: error_counts(np.random.default_rng(32), t, RUNS_BAD, r) for r in (1.25, 1.5, 2.0, 3.0)}
    print("| mixing distribution | false rollbacks, 5 s looks | false rollbacks, 0.5 s looks | "
          "1.25x | 1.5x | 2x | 3x |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, (ratios, log_w) in mixtures().items():
        fpr = np.isfinite(first_fails(*null, t, ratios, log_w)).mean()
        fpr_fine = np.isfinite(first_fails(*null_fine, fine, ratios, log_w)).mean()
        ttds = [np.minimum(first_fails(*bad[r], t, ratios, log_w), t.looks + 1).mean() * t.interval_s for r in bad]
        print(f"| {name} | {fpr:.3f} | {fpr_fine:.3f} | " + " | ".join(f"{x:.1f} s" for x in ttds) + " |")
    few_errors()
    return 0


def few_errors() -> None:
    """The price of centring: a far worse canary seen on few errors, like the demo's v2
    (0.3 % errors in the stable version, 6x in the canary, 500 canary and 2,500 baseline
    requests per 10 s look, alpha 0.01): the share of 2,000 runs failed by look 1, 2, 3."""
    t = Traffic(rps=300, canary_share=1 / 6, interval_s=10.0, looks=3, error_rate=0.003, baseline_share=5 / 6)
    b, c = error_counts(np.random.default_rng(34), t, 2000, 6.0)
    print("\n| mixing distribution (6x canary, few errors, alpha 0.01) | failed at look 1 | by look 2 | by look 3 |")
    print("|---|---:|---:|---:|")
    for name, (ratios, log_w) in mixtures().items():
        f = first_fails(b, c, t, ratios, log_w, alpha=0.01)
        print(f"| {name} | {np.mean(f <= 1):.3f} | {np.mean(f <= 2):.3f} | {np.mean(f <= 3):.3f} |")


if __name__ == "__main__":
    raise SystemExit(main())
