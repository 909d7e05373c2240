"""Mann-Whitney U on latency (or any) samples, one-sided: the canary's values tend to be
larger. It compares whole distributions by rank, so it is robust to outliers, but it can
miss a slower tail when the bulk is unchanged: pair it with the tail judge.

With ``tolerance`` t > 0 the canary's values are divided by 1 + t before ranking: H0 is
"the canary is at most t slower, as a scale factor".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sloguard.delivery.judges._inputs import (
    FloatArray,
    as_samples,
    check_alpha,
    check_minimum,
    check_tolerance,
)
from sloguard.delivery.judges._verdict import (
    Interval,
    Outcome,
    Verdict,
    decide,
    fmt,
    insufficient,
    verdict_word,
)

NAME = "mann-whitney"


@dataclass(frozen=True, slots=True)
class MannWhitneySettings:
    """``alpha``: one-sided level; ``min_samples`` per arm; ``tolerance``: allowed
    relative slow-down (0.05 = 5 %) before the canary counts as worse."""

    alpha: float = 0.05
    min_samples: float = 50.0
    tolerance: float = 0.0

    def __post_init__(self) -> None:
        check_alpha(self.alpha, "MannWhitneySettings")
        check_minimum(self.min_samples, "min_samples", "MannWhitneySettings")
        check_tolerance(self.tolerance, "tolerance", "MannWhitneySettings")


def mann_whitney(
    baseline: Sequence[float] | FloatArray,
    canary: Sequence[float] | FloatArray,
    settings: MannWhitneySettings = MannWhitneySettings(),
) -> Verdict:
    """Judge the canary's samples against the baseline's (NaN values are dropped)."""
    b, c = as_samples(baseline, "baseline"), as_samples(canary, "canary")
    a = settings.alpha
    if min(b.size, c.size) < settings.min_samples or min(b.size, c.size) == 0:
        return insufficient(NAME, a, b.size, c.size, settings.min_samples, "samples")
    shifted = c / (1.0 + settings.tolerance)
    if np.ptp(np.concatenate([b, shifted])) == 0:
        reason = "every sample has the same value in both arms, no evidence the canary is worse"
        return Verdict(NAME, Outcome.PASS, reason, a, b.size, c.size, p_value=1.0)
    from scipy import stats

    res = stats.mannwhitneyu(shifted, b, alternative="greater", method="auto")
    return _verdict(b, c, float(res.statistic), float(res.pvalue), settings)


def _verdict(b: FloatArray, c: FloatArray, u: float, p: float, s: MannWhitneySettings) -> Verdict:
    auc, outcome = u / (b.size * c.size), decide(p, s.alpha)
    mb, mc = float(np.median(b)), float(np.median(c))
    reason = (
        f"canary median {fmt(mc)} vs baseline {fmt(mb)} ({c.size:,} and {b.size:,} samples), "
        f"P(canary slower) = {auc:.3f}: U = {fmt(u)}, p = {fmt(p)} "
        f"{'<=' if outcome is Outcome.FAIL else '>'} alpha {s.alpha:g}, {verdict_word(outcome)}"
    )
    return Verdict(
        NAME, outcome, reason, s.alpha, b.size, c.size,
        statistic=u, statistic_name="U", p_value=p,
        effect=auc, effect_name="P(canary > baseline)",
        interval=Interval(_auc_low(auc, c.size, b.size, s.alpha), 1.0, 1 - s.alpha),
        details=(("baseline_median", mb), ("canary_median", mc)),
    )  # fmt: skip


def _auc_low(auc: float, n1: int, n2: int, alpha: float) -> float:
    """One-sided lower bound of P(canary > baseline), Hanley and McNeil's (1982) variance."""
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (n1 - 1) * (q1 - auc**2) + (n2 - 1) * (q2 - auc**2)) / (n1 * n2)
    from scipy import stats

    return max(0.0, auc - float(stats.norm.isf(alpha)) * math.sqrt(max(var, 0.0)))
