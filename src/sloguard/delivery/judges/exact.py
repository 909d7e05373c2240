"""Exact tests for rare errors, where the z-test's normal approximation breaks down; they
catch errors rising from zero (0 in the baseline, several in the canary).

``rate_ratio``: the conditional binomial (Poisson) test for counts over exposure. If both
arms have Poisson errors at rates ``l_b`` and ``l_c`` over exposures ``e_b`` and ``e_c``
(requests or seconds), then given ``k`` errors in total, the canary's count is
Binomial(k, q) with ``q = r e_c / (r e_c + e_b)`` and ``r = l_c / l_b``. H0: ``r <= 1 +
tolerance``. The default for error counts; exposure may also be time.

``fisher``: Fisher's exact test on the 2x2 table of errors and successes (requests only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sloguard.delivery.judges._errors import JudgeError
from sloguard.delivery.judges._inputs import Counts, check_alpha, check_minimum, check_tolerance
from sloguard.delivery.judges._verdict import (
    Interval,
    Outcome,
    Verdict,
    decide,
    fmt,
    insufficient,
    verdict_word,
)

RATE_RATIO = "exact"
FISHER = "fisher"


@dataclass(frozen=True, slots=True)
class ExactSettings:
    """``alpha``: one-sided level. ``min_exposure``: requests (or seconds) per arm below
    which the verdict is INSUFFICIENT_DATA. ``tolerance``: the canary's rate may exceed
    the baseline's by this fraction (0.1 = 10 %) before it counts as worse (``rate_ratio``
    only; ``fisher`` needs 0)."""

    alpha: float = 0.05
    min_exposure: float = 100.0
    tolerance: float = 0.0

    def __post_init__(self) -> None:
        check_alpha(self.alpha, "ExactSettings")
        check_minimum(self.min_exposure, "min_exposure", "ExactSettings")
        check_tolerance(self.tolerance, "tolerance", "ExactSettings")


def rate_ratio(baseline: Counts, canary: Counts, settings: ExactSettings = ExactSettings()) -> Verdict:
    """The conditional binomial test of the canary's error rate against the baseline's."""
    eb, ec, a = baseline.exposure, canary.exposure, settings.alpha
    if min(eb, ec) < settings.min_exposure or eb == 0 or ec == 0:
        return insufficient(RATE_RATIO, a, eb, ec, settings.min_exposure, "of exposure")
    xb, xc = round(baseline.events), round(canary.events)
    ratio = (xc / ec) / (xb / eb) if xb else (math.inf if xc else math.nan)
    if xb + xc == 0:
        reason = f"no errors in either arm ({fmt(eb)} and {fmt(ec)} of exposure), no evidence the canary is worse"
        return Verdict(RATE_RATIO, Outcome.PASS, reason, a, eb, ec, p_value=1.0,
                       effect=ratio, effect_name="canary/baseline rate ratio")  # fmt: skip
    r0 = 1.0 + settings.tolerance
    q0 = r0 * ec / (r0 * ec + eb)
    from scipy import special

    p = float(special.bdtrc(xc - 1, xb + xc, q0)) if xc > 0 else 1.0
    said = f"canary {fmt(xc)} errors in {fmt(ec)} vs baseline {fmt(xb)} in {fmt(eb)} (rate ratio {fmt(ratio)}, allowed {fmt(r0)})"
    return Verdict(
        RATE_RATIO, decide(p, a), _reason(said, "exact", p, a), a, eb, ec,
        statistic=float(xc), statistic_name=f"canary errors of {xb + xc}", p_value=p,
        effect=ratio, effect_name="canary/baseline rate ratio",
        interval=Interval(_ratio_low(xb, xc, eb, ec, a), math.inf, 1 - a),
        details=(("expected_canary_share", q0), ("total_errors", float(xb + xc))),
    )  # fmt: skip


def _ratio_low(xb: int, xc: int, eb: float, ec: float, alpha: float) -> float:
    """The exact (Clopper-Pearson) one-sided lower bound of the rate ratio, through the
    canary's share of the errors."""
    from scipy import special

    share = float(special.betaincinv(xc, xb + 1, alpha)) if xc > 0 else 0.0
    return share / (1 - share) * eb / ec if share < 1 else math.inf


def fisher(baseline: Counts, canary: Counts, settings: ExactSettings = ExactSettings()) -> Verdict:
    """Fisher's exact test, one-sided: the canary's odds of an error are higher."""
    if settings.tolerance:
        raise JudgeError(f"The fisher judge tests equality only; its tolerance must be 0, got {settings.tolerance!r}.")
    baseline.check_proportion("baseline")
    canary.check_proportion("canary")
    nb, nc, a = baseline.exposure, canary.exposure, settings.alpha
    if min(nb, nc) < settings.min_exposure:
        return insufficient(FISHER, a, nb, nc, settings.min_exposure, "requests")
    xb, xc = round(baseline.events), round(canary.events)
    table = [[xc, round(nc) - xc], [xb, round(nb) - xb]]
    from scipy import stats
    from scipy.stats.contingency import odds_ratio

    odds, p = (float(x) for x in stats.fisher_exact(table, alternative="greater"))
    ci = odds_ratio(table, kind="conditional").confidence_interval(1 - a, alternative="greater")
    said = f"canary {fmt(xc)} errors of {fmt(nc)} vs baseline {fmt(xb)} of {fmt(nb)} (odds ratio {fmt(odds)})"
    return Verdict(
        FISHER, decide(p, a), _reason(said, "Fisher", p, a), a, nb, nc,
        statistic=float(xc), statistic_name="canary errors", p_value=p,
        effect=odds, effect_name="canary/baseline odds ratio",
        interval=Interval(float(ci.low), float(ci.high), 1 - a),
    )  # fmt: skip


def _reason(said: str, test: str, p: float, alpha: float) -> str:
    outcome = decide(p, alpha)
    sign = "<=" if outcome is Outcome.FAIL else ">"
    return f"{said}: {test} p = {fmt(p)} {sign} alpha {alpha:g}, {verdict_word(outcome)}"
