"""Corrections across metrics: when several judges decide one step (error rate, latency,
tail), the chance that any of them fails an identical canary grows with their number.
Holm's step-down method keeps the family-wise error rate at ``alpha``;
Benjamini-Hochberg's step-up method keeps the false discovery rate at ``alpha``
(more power, for many metrics). Judges are not changed: their verdicts are re-decided on
adjusted p-values.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from sloguard.delivery.judges._errors import JudgeError
from sloguard.delivery.judges._inputs import check_alpha
from sloguard.delivery.judges._verdict import Outcome, Verdict, fmt


class Correction(enum.Enum):
    HOLM = "holm"
    BENJAMINI_HOCHBERG = "benjamini-hochberg"
    NONE = "none"


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values, in the input order: the i-th smallest ``p`` times
    ``m - i + 1``, made non-decreasing in that order, capped at 1."""
    p = _check(p_values)
    order = np.argsort(p, kind="stable")
    m = p.size
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.maximum.accumulate(scaled)
    return out.tolist()


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg-adjusted p-values (q-values), in the input order: the i-th
    smallest ``p`` times ``m / i``, made non-increasing from the largest, capped at 1."""
    p = _check(p_values)
    order = np.argsort(p, kind="stable")
    m = p.size
    scaled = np.minimum(1.0, p[order] * m / np.arange(1, m + 1))
    out = np.empty(m)
    out[order] = np.minimum.accumulate(scaled[::-1])[::-1]
    return out.tolist()


def correct(
    verdicts: Sequence[Verdict], method: Correction = Correction.HOLM, alpha: float = 0.05
) -> list[Verdict]:
    """Re-decide the verdicts that carry a p-value and passed or failed on adjusted
    p-values at family level ``alpha``; the others (INSUFFICIENT_DATA, INCONCLUSIVE) are
    returned unchanged. The raw p-value moves to ``details`` as ``raw_p_value``."""
    check_alpha(alpha, "correct")
    idx = [i for i, v in enumerate(verdicts)
           if v.p_value is not None and v.outcome in (Outcome.PASS, Outcome.FAIL)]  # fmt: skip
    if method is Correction.NONE or not idx:
        return list(verdicts)
    raw = [float(verdicts[i].p_value or 0.0) for i in idx]
    adjusted = holm(raw) if method is Correction.HOLM else benjamini_hochberg(raw)
    out = list(verdicts)
    for i, p, adj in zip(idx, raw, adjusted, strict=True):
        out[i] = _redecide(verdicts[i], p, adj, len(idx), method, alpha)
    return out


def _redecide(v: Verdict, raw: float, adj: float, m: int, method: Correction, alpha: float) -> Verdict:
    outcome = Outcome.FAIL if adj <= alpha else Outcome.PASS
    word = "canary worse" if outcome is Outcome.FAIL else "no evidence the canary is worse"
    reason = (
        f"{v.reason}; with the {method.value} correction across {m} metrics the adjusted "
        f"p = {fmt(adj)} {'<=' if outcome is Outcome.FAIL else '>'} {alpha:g}: {word}"
    )
    return replace(v, outcome=outcome, reason=reason, p_value=adj, alpha=alpha,
                   details=(*v.details, ("raw_p_value", raw)))  # fmt: skip


def _check(p_values: Sequence[float]) -> np.ndarray:
    p = np.asarray(p_values, dtype=np.float64)
    if p.ndim != 1 or np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise JudgeError(f"p-values must be a flat list of numbers in [0, 1], got {list(p_values)!r}.")
    return p
