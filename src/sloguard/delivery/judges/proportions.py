"""The two-proportion z-test, one-sided "canary worse": the simple default for error rates.

H0: the canary's error rate is not above the baseline's. The statistic uses the pooled
rate (the standard error under H0); the interval for the difference uses the unpooled
(Wald) standard error. The normal approximation needs a few expected errors per arm
(``min_expected_errors``, 5 by the textbook rule); below that the judge answers
INSUFFICIENT_DATA and names the exact judge, which handles rare errors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sloguard.delivery.judges._inputs import Counts, check_alpha, check_minimum
from sloguard.delivery.judges._verdict import (
    Interval,
    Outcome,
    Verdict,
    decide,
    fmt,
    insufficient,
    pct,
    verdict_word,
)

NAME = "proportions"


@dataclass(frozen=True, slots=True)
class ProportionSettings:
    """``alpha``: one-sided level. ``min_requests``: per arm, below it INSUFFICIENT_DATA.
    ``min_expected_errors``: errors expected per arm under H0 (pooled rate x requests)
    below which the normal approximation is not trusted."""

    alpha: float = 0.05
    min_requests: float = 500.0
    min_expected_errors: float = 5.0

    def __post_init__(self) -> None:
        check_alpha(self.alpha, "ProportionSettings")
        check_minimum(self.min_requests, "min_requests", "ProportionSettings")
        check_minimum(self.min_expected_errors, "min_expected_errors", "ProportionSettings")


def z_test(
    baseline: Counts, canary: Counts, settings: ProportionSettings = ProportionSettings()
) -> Verdict:
    """Judge ``canary`` errors/requests against ``baseline`` errors/requests."""
    baseline.check_proportion("baseline")
    canary.check_proportion("canary")
    nb, nc, a = baseline.exposure, canary.exposure, settings.alpha
    if min(nb, nc) < settings.min_requests or nb == 0 or nc == 0:
        return insufficient(NAME, a, nb, nc, settings.min_requests, "requests")
    pooled = (baseline.events + canary.events) / (nb + nc)
    if pooled in (0.0, 1.0):
        return _no_variation(baseline, canary, settings, pooled)
    expected = pooled * min(nb, nc)
    if expected < settings.min_expected_errors:
        return _too_few_errors(baseline, canary, settings, expected)
    return _test(baseline, canary, settings, pooled)


def _test(baseline: Counts, canary: Counts, s: ProportionSettings, pooled: float) -> Verdict:
    nb, nc = baseline.exposure, canary.exposure
    diff = canary.rate - baseline.rate
    z = diff / math.sqrt(pooled * (1 - pooled) * (1 / nb + 1 / nc))
    from scipy import special

    p = float(special.ndtr(-z))
    se = math.sqrt(baseline.rate * (1 - baseline.rate) / nb + canary.rate * (1 - canary.rate) / nc)
    low = diff + float(special.ndtri(s.alpha)) * se
    outcome = decide(p, s.alpha)
    reason = (
        f"{_rates(baseline, canary)}: z = {z:.2f}, p = {fmt(p)} "
        f"{'<=' if outcome is Outcome.FAIL else '>'} alpha {s.alpha:g}, {verdict_word(outcome)}"
    )
    return Verdict(
        NAME, outcome, reason, s.alpha, nb, nc,
        statistic=z, statistic_name="z", p_value=p,
        effect=diff, effect_name="canary - baseline error rate",
        interval=Interval(low, math.inf, 1 - s.alpha),
        details=(("baseline_rate", baseline.rate), ("canary_rate", canary.rate)),
    )  # fmt: skip


def _no_variation(b: Counts, c: Counts, s: ProportionSettings, pooled: float) -> Verdict:
    what = "no errors" if pooled == 0.0 else "only errors"
    reason = f"{what} in either arm ({_rates(b, c)}), no evidence the canary is worse"
    return Verdict(
        NAME, Outcome.PASS, reason, s.alpha, b.exposure, c.exposure,
        p_value=1.0, effect=c.rate - b.rate, effect_name="canary - baseline error rate",
    )  # fmt: skip


def _too_few_errors(b: Counts, c: Counts, s: ProportionSettings, expected: float) -> Verdict:
    reason = (
        f"insufficient data: too few errors for the normal approximation ({_rates(b, c)}; "
        f"{fmt(round(expected, 2))} expected per arm, the minimum is "
        f"{fmt(s.min_expected_errors)}); the exact judge handles rare errors"
    )
    return Verdict(NAME, Outcome.INSUFFICIENT_DATA, reason, s.alpha, b.exposure, c.exposure)


def _rates(b: Counts, c: Counts) -> str:
    return (
        f"canary error rate {pct(c.rate)} ({fmt(c.events)} of {fmt(c.exposure)}) vs baseline "
        f"{pct(b.rate)} ({fmt(b.events)} of {fmt(b.exposure)})"
    )
