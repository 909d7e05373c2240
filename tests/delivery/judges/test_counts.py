"""Error-rate judges: the two-proportion z-test and the exact tests, against values
computed by hand, at their minimum sample sizes, and on errors rising from zero."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sloguard.delivery.judges import (
    Counts,
    ExactSettings,
    JudgeError,
    Outcome,
    ProportionSettings,
    fisher,
    rate_ratio,
    z_test,
)


def _binom_sf(x: int, k: int, q: float) -> float:
    return sum(math.comb(k, i) * q**i * (1 - q) ** (k - i) for i in range(x, k + 1))


def test_z_test_matches_the_pooled_formula_by_hand() -> None:
    b, c = Counts(30, 3000), Counts(55, 2500)
    pooled = 85 / 5500
    z = (55 / 2500 - 30 / 3000) / math.sqrt(pooled * (1 - pooled) * (1 / 3000 + 1 / 2500))
    v = z_test(b, c)
    assert v.statistic == pytest.approx(z)
    assert v.p_value == pytest.approx(0.5 * math.erfc(z / math.sqrt(2)))
    assert v.outcome is Outcome.FAIL and v.effect == pytest.approx(55 / 2500 - 30 / 3000)
    se = math.sqrt(0.01 * 0.99 / 3000 + 0.022 * 0.978 / 2500)
    assert v.interval is not None and v.interval.low == pytest.approx(v.effect - 1.6448536 * se)


def test_z_test_passes_a_canary_that_is_better_or_equal() -> None:
    assert z_test(Counts(30, 3000), Counts(30, 3000)).outcome is Outcome.PASS
    assert z_test(Counts(60, 3000), Counts(30, 3000)).outcome is Outcome.PASS


@pytest.mark.parametrize(
    ("judge", "settings"),
    [(z_test, ProportionSettings(min_requests=500)), (rate_ratio, ExactSettings(min_exposure=500)),
     (fisher, ExactSettings(min_exposure=500))],
)  # fmt: skip
def test_below_the_minimum_sample_size_the_verdict_is_insufficient_data_with_the_counts(judge, settings) -> None:  # type: ignore[no-untyped-def]
    v = judge(Counts(5, 499), Counts(200, 4000), settings)
    assert v.outcome is Outcome.INSUFFICIENT_DATA
    assert "499" in v.reason and "4,000" in v.reason and "500" in v.reason
    assert judge(Counts(5, 500), Counts(200, 4000), settings).outcome is Outcome.FAIL


def test_rate_ratio_matches_the_binomial_tail_by_hand() -> None:
    b, c = Counts(4, 6000), Counts(9, 3000)
    q = 3000 / 9000
    v = rate_ratio(b, c)
    assert v.p_value == pytest.approx(_binom_sf(9, 13, q))
    assert v.effect == pytest.approx((9 / 3000) / (4 / 6000))
    tolerant = rate_ratio(b, c, ExactSettings(tolerance=0.5))
    q15 = 1.5 * 3000 / (1.5 * 3000 + 6000)
    assert tolerant.p_value == pytest.approx(_binom_sf(9, 13, q15))


def test_fisher_matches_the_hypergeometric_tail_by_hand() -> None:
    nb, nc, xb, xc = 400, 300, 2, 7
    total, errors = nb + nc, xb + xc
    p = sum(math.comb(errors, i) * math.comb(total - errors, nc - i) for i in range(xc, errors + 1))
    v = fisher(Counts(xb, nb), Counts(xc, nc))
    assert v.p_value == pytest.approx(p / math.comb(total, nc))


def test_errors_rising_from_zero_fail_the_exact_tests_where_the_z_test_cannot_decide() -> None:
    b, c = Counts(0, 2000), Counts(6, 2000)
    z = z_test(b, c)
    assert z.outcome is Outcome.INSUFFICIENT_DATA and "exact" in z.reason
    for v in (rate_ratio(b, c), fisher(b, c)):
        assert v.outcome is Outcome.FAIL
        assert v.p_value == pytest.approx(0.5**6, rel=0.02)
        assert v.interval is not None and v.interval.low > 1
    # Against the stable pool (19x the canary's traffic), 0 -> 5 errors is overwhelming.
    v = rate_ratio(Counts(0, 38000), Counts(5, 2000))
    assert v.outcome is Outcome.FAIL and v.p_value == pytest.approx((2000 / 40000) ** 5)
    assert z_test(Counts(0, 38000), Counts(5, 2000)).outcome is Outcome.INSUFFICIENT_DATA


def test_with_rare_errors_and_a_stable_pool_baseline_a_forced_z_test_overshoots_alpha_and_the_exact_test_does_not() -> None:
    rng, runs, nb, nc, p = np.random.default_rng(21), 3000, 19000, 1000, 0.001
    xb, xc = rng.binomial(nb, p, runs), rng.binomial(nc, p, runs)
    forced = ProportionSettings(min_requests=0, min_expected_errors=0)
    z = np.mean([z_test(Counts(a, nb), Counts(b, nc), forced).failed for a, b in zip(xb, xc, strict=True)])
    e = np.mean([rate_ratio(Counts(a, nb), Counts(b, nc)).failed for a, b in zip(xb, xc, strict=True)])
    assert z > 0.05 >= e, (z, e)


def test_no_errors_anywhere_passes() -> None:
    for v in (z_test(Counts(0, 5000), Counts(0, 5000)), rate_ratio(Counts(0, 5000), Counts(0, 5000))):
        assert v.outcome is Outcome.PASS and "no errors" in v.reason


def test_bad_counts_and_settings_are_errors_naming_the_value() -> None:
    with pytest.raises(JudgeError, match=r"Counts.events must be a finite number >= 0, got -1"):
        Counts(-1, 10)
    with pytest.raises(JudgeError, match=r"canary has 11 events out of 10 requests"):
        z_test(Counts(1, 10), Counts(11, 10))
    with pytest.raises(JudgeError, match=r"ProportionSettings.alpha must be between 0 and 1.*got 1.5"):
        ProportionSettings(alpha=1.5)
    with pytest.raises(JudgeError, match=r"tolerance must be 0, got 0.1"):
        fisher(Counts(1, 1000), Counts(2, 1000), ExactSettings(tolerance=0.1))
