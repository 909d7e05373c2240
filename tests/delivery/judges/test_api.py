"""The judges' public surface: the registry by name, settings from mappings with key-path
errors, verdicts as JSON, and the alpha-spending schedule."""

from __future__ import annotations

import json
import math

import pytest

from sloguard.delivery.judges import (
    JUDGES,
    Counts,
    ExactSettings,
    InputKind,
    JudgeError,
    Outcome,
    ProportionSettings,
    SequentialSettings,
    Spending,
    SpendingSettings,
    SpendingState,
    judge_by_name,
    rate_ratio,
    spending_look,
    verdict_from_dict,
    wrapper_settings,
    z_test,
)


def test_every_judge_is_registered_by_name_with_its_input_kind() -> None:
    assert {"proportions", "exact", "fisher", "mann-whitney", "tail", "tail-samples", "spread"} <= set(JUDGES)
    spec = judge_by_name("exact")
    assert spec.kind is InputKind.COUNTS and spec.judge is rate_ratio
    assert spec.judge(Counts(0, 2000), Counts(6, 2000), spec.settings({"alpha": 0.05})).outcome is Outcome.FAIL


def test_an_unknown_judge_name_lists_the_known_ones() -> None:
    with pytest.raises(JudgeError, match=r"spec.judges\[2\]: unknown judge 'ztest'; known judges are exact, fisher"):
        judge_by_name("ztest", "spec.judges[2]")


def test_settings_from_a_mapping_name_the_key_path_of_a_problem() -> None:
    spec = judge_by_name("proportions")
    assert spec.settings({"alpha": 0.01, "min_requests": 100}) == ProportionSettings(0.01, 100)
    with pytest.raises(JudgeError, match=r"judges\[0\].settings: unknown key\(s\) 'alfa' for the 'proportions' judge; known keys are alpha"):
        spec.settings({"alfa": 0.1}, "judges[0].settings")
    with pytest.raises(JudgeError, match=r"judges\[0\].settings.alpha: expected a number, got '5%'"):
        spec.settings({"alpha": "5%"}, "judges[0].settings")
    with pytest.raises(JudgeError, match=r"judges\[0\].settings: ProportionSettings.alpha must be between 0 and 1"):
        spec.settings({"alpha": 0}, "judges[0].settings")


def test_a_verdict_is_json_safe_readable_and_reads_back() -> None:
    v = rate_ratio(Counts(0, 2000), Counts(6, 2000))
    d = json.loads(json.dumps(v.to_dict()))
    assert d["outcome"] == "fail" and d["effect"] == "+Inf"  # infinite ratio, as Prometheus writes it
    assert d["interval"]["high"] == "+Inf" and d["interval"]["level"] == 0.95
    assert d["p_value"] == pytest.approx(0.5**6, rel=0.02) and d["likelihood_ratio"] is None
    assert v.reason.count(".") <= 2 and "canary 6 errors" in v.reason
    assert verdict_from_dict(d) == v
    nan = z_test(Counts(0, 10), Counts(0, 10))
    assert verdict_from_dict(json.loads(json.dumps(nan.to_dict()))).outcome is Outcome.INSUFFICIENT_DATA
    with pytest.raises(JudgeError, match="A stored verdict cannot be read"):
        verdict_from_dict({**d, "outcome": "maybe"})


def test_sequential_and_spending_settings_come_from_mappings_by_name() -> None:
    assert wrapper_settings("sequential", {"alpha": 0.01, "grid": 12}) == SequentialSettings(alpha=0.01, grid=12)
    assert wrapper_settings("sequential", {"target_ratio": 1.5, "spread": 0.4}) == SequentialSettings(target_ratio=1.5, spread=0.4)
    s = wrapper_settings("alpha-spending", {"looks": 10, "spending": "obrien-fleming"})
    assert s == SpendingSettings(looks=10, spending=Spending.OBRIEN_FLEMING)
    with pytest.raises(JudgeError, match=r"a.spending: expected one of 'pocock', 'obrien-fleming', got 'linear'"):
        wrapper_settings("alpha-spending", {"spending": "linear"}, "a")
    with pytest.raises(JudgeError, match=r"a.looks: expected a whole number, got 2.5"):
        wrapper_settings("alpha-spending", {"looks": 2.5}, "a")
    with pytest.raises(JudgeError, match=r"a: unknown sequential method 'wald'; known ones are alpha-spending, sequential"):
        wrapper_settings("wald", {}, "a")


@pytest.mark.parametrize("spending", list(Spending))
def test_spending_shares_add_up_to_alpha(spending: Spending) -> None:
    s = SpendingSettings(alpha=0.05, looks=20, spending=spending)
    shares = [s.look_alpha(i) for i in range(1, 21)]
    assert all(x >= 0 for x in shares) and math.fsum(shares) == pytest.approx(0.05)
    if spending is Spending.OBRIEN_FLEMING:
        assert shares[0] < 1e-6 < shares[-1]


def test_spending_calls_the_judge_at_the_look_share_and_stops_when_spent() -> None:
    s = SpendingSettings(alpha=0.05, looks=2, spending=Spending.POCOCK)
    b, c = Counts(30, 3000), Counts(45, 3000)  # one-sided p 0.041
    inner = z_test(b, c)
    assert inner.outcome is Outcome.FAIL and s.look_alpha(1) < (inner.p_value or 0)
    st, v1 = spending_look(SpendingState(), z_test, b, c, ProportionSettings(), s)
    assert v1.outcome is Outcome.PASS and "look 1 of 2" in v1.reason
    assert v1.p_value == pytest.approx((inner.p_value or 0) * 0.05 / s.look_alpha(1))
    st, v2 = spending_look(st, z_test, b, c, ProportionSettings(), s)
    assert v2.outcome is Outcome.PASS and st.looks == 2
    st, v3 = spending_look(st, z_test, Counts(1, 3000), Counts(90, 3000), ProportionSettings(), s)
    assert v3.outcome is Outcome.INCONCLUSIVE and "no alpha is left" in v3.reason
    _, strong = spending_look(SpendingState(), z_test, Counts(1, 3000), Counts(90, 3000), ProportionSettings(), s)
    assert strong.outcome is Outcome.FAIL and strong.alpha == 0.05


def test_a_spending_fail_is_final() -> None:
    s = SpendingSettings(alpha=0.05, looks=5)
    st, v1 = spending_look(SpendingState(), rate_ratio, Counts(0, 5000), Counts(30, 5000), ExactSettings(), s)
    st, v2 = spending_look(st, rate_ratio, Counts(30, 10000), Counts(30, 10000), ExactSettings(), s)
    assert v1.outcome is Outcome.FAIL and v2.outcome is Outcome.FAIL and "failed at look 1" in v2.reason
