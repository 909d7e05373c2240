"""Holm and Benjamini-Hochberg across metrics, against the textbook formulas written out
here independently (step by step, with explicit loops), and re-deciding verdicts."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sloguard.delivery.judges import (
    Correction,
    Counts,
    JudgeError,
    Outcome,
    benjamini_hochberg,
    correct,
    holm,
    rate_ratio,
    z_test,
)

P = [0.01, 0.04, 0.03, 0.005, 0.20, 0.04]


def _holm_by_hand(p: list[float]) -> list[float]:
    m = len(p)
    ranked = sorted(range(m), key=lambda i: p[i])
    out, running = [0.0] * m, 0.0
    for rank, i in enumerate(ranked):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def _bh_by_hand(p: list[float]) -> list[float]:
    m = len(p)
    ranked = sorted(range(m), key=lambda i: p[i])
    out, running = [0.0] * m, 1.0
    for rank in range(m - 1, -1, -1):
        i = ranked[rank]
        running = min(running, p[i] * m / (rank + 1))
        out[i] = min(1.0, running)
    return out


def test_holm_matches_the_step_down_formula() -> None:
    assert holm(P) == pytest.approx(_holm_by_hand(P))
    # statsmodels' multipletests(P, method="holm")[1], worked by hand for this input:
    assert holm(P) == pytest.approx([0.05, 0.12, 0.12, 0.03, 0.2, 0.12])


def test_benjamini_hochberg_matches_the_step_up_formula() -> None:
    assert benjamini_hochberg(P) == pytest.approx(_bh_by_hand(P))
    # statsmodels' multipletests(P, method="fdr_bh")[1], worked by hand for this input:
    assert benjamini_hochberg(P) == pytest.approx([0.03, 0.048, 0.048, 0.03, 0.2, 0.048])


def test_random_p_values_agree_with_the_hand_formulas() -> None:
    rng = np.random.default_rng(41)
    for _ in range(50):
        p = rng.uniform(0, 0.2, rng.integers(1, 12)).tolist()
        assert holm(p) == pytest.approx(_holm_by_hand(p))
        assert benjamini_hochberg(p) == pytest.approx(_bh_by_hand(p))


def test_correct_re_decides_verdicts_on_adjusted_p_values_and_keeps_the_raw_one() -> None:
    weak1 = z_test(Counts(30, 3000), Counts(45, 3000))  # p 0.041
    weak2 = z_test(Counts(30, 3000), Counts(46, 3000))  # p 0.032
    waiting = z_test(Counts(0, 10), Counts(0, 10))
    assert weak1.failed and weak2.failed and waiting.outcome is Outcome.INSUFFICIENT_DATA
    out = correct([weak1, weak2, waiting], Correction.HOLM, alpha=0.05)
    # Holm: 2 x 0.032 = 0.065 > 0.05 stops the step-down, so neither fails.
    assert [v.outcome for v in out[:2]] == [Outcome.PASS, Outcome.PASS]
    assert "holm correction across 2 metrics" in out[1].reason
    assert out[1].p_value == pytest.approx(2 * (weak2.p_value or 0))
    assert dict(out[0].details)["raw_p_value"] == weak1.p_value
    assert out[2] is waiting
    # Benjamini-Hochberg: the largest p times 2/2 stays at 0.041, so both still fail.
    bh = correct([weak1, weak2], Correction.BENJAMINI_HOCHBERG, alpha=0.05)
    assert [v.outcome for v in bh] == [Outcome.FAIL, Outcome.FAIL]
    strong = rate_ratio(Counts(10, 3000), Counts(40, 3000))
    assert correct([strong, weak1], Correction.HOLM)[0].failed
    assert correct([weak1, weak2], Correction.NONE)[1].failed
    json.dumps([v.to_dict() for v in out])


def test_p_values_outside_zero_to_one_are_an_error() -> None:
    with pytest.raises(JudgeError, match=r"numbers in \[0, 1\], got \[0.1, 1.5\]"):
        holm([0.1, 1.5])
