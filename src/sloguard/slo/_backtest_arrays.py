"""Alert rules as array expressions over a history's cumulative sums (see ``backtest``)."""

from __future__ import annotations

import math

import numpy as np

from sloguard.slo._backtest_model import F64, Bool, History, Policy
from sloguard.slo.model import SLO, AlertTier, BurnWindow


class Sums:
    """Window sums of a history by cumulative-sum differences, cached per window."""

    def __init__(self, h: History) -> None:
        self.h = h
        pad = np.zeros((h.errors.shape[0], 1))
        self.ce = np.concatenate([pad, np.cumsum(h.errors, axis=1)], axis=1)
        self.ct = np.concatenate([pad, np.cumsum(h.totals, axis=1)], axis=1)
        self._cache: dict[int, tuple[F64, F64]] = {}

    def steps(self, window_ms: int) -> int:
        return max(1, round(window_ms / self.h.step_ms))

    def window(self, window_ms: int) -> tuple[F64, F64]:
        if window_ms not in self._cache:
            n = self.ce.shape[1] - 1
            hi = np.arange(1, n + 1)
            lo = np.maximum(hi - self.steps(window_ms), 0)
            self._cache[window_ms] = (self.ce[:, hi] - self.ce[:, lo], self.ct[:, hi] - self.ct[:, lo])
        return self._cache[window_ms]

    def ratio(self, window_ms: int) -> F64:
        e, t = self.window(window_ms)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(t > 0, e / np.where(t > 0, t, 1.0), np.nan)

    def span(self, row: int, i: int, j: int) -> tuple[float, float]:
        """Errors and totals of steps ``i..j`` inclusive."""
        return float(self.ce[row, j + 1] - self.ce[row, i]), float(self.ct[row, j + 1] - self.ct[row, i])


def _burn_condition(s: Sums, slo: SLO, w: BurnWindow) -> Bool:
    thr = w.factor * slo.error_budget
    with np.errstate(invalid="ignore"):
        cond: Bool = (s.ratio(w.long_ms) > thr) & (s.ratio(w.short_ms) > thr)
    if slo.alerting.min_events:
        cond &= s.window(w.long_ms)[1] >= slo.alerting.min_events
    return cond


def _rule_condition(s: Sums, slo: SLO, tier: AlertTier) -> Bool:
    cond = np.zeros(s.h.errors.shape, dtype=bool)
    for w in tier.windows:
        cond |= _burn_condition(s, slo, w)
    return cond


def hold_for(cond: Bool, k: int) -> Bool:
    """Steps at which ``cond`` has held at the last ``k + 1`` steps (``for:`` as pending)."""
    if k <= 0:
        return cond
    idx = np.arange(cond.shape[-1])
    last_false = np.maximum.accumulate(np.where(cond, -1, idx), axis=-1)
    return (idx - last_false) > k


def firing(s: Sums, slo: SLO, policy: Policy, top: str) -> dict[str, Bool]:
    """Per tier name, the steps at which the policy's rules of that tier fire."""
    rules = [(t, _rule_condition(s, slo, t)) for t in policy.tiers if t.enabled and t.windows]
    page = [c for t, c in rules if t.name == top]
    superseding = np.logical_or.reduce(page) if page else None
    out: dict[str, Bool] = {}
    for tier, cond in rules:
        if superseding is not None and tier.name != top:
            cond = cond & ~superseding
        fired = hold_for(cond, math.ceil(tier.for_ms / s.h.step_ms))
        out[tier.name] = out[tier.name] | fired if tier.name in out else fired
    return out


def runs(b: Bool) -> list[tuple[int, int, int]]:
    """``(row, start, stop)`` of every run of True (``stop`` exclusive), row-major order."""
    rows = b.shape[0]
    pad = np.zeros((rows, b.shape[1] + 2), dtype=np.int8)
    pad[:, 1:-1] = b
    d = np.diff(pad, axis=1)
    r, starts = np.nonzero(d == 1)
    _, stops = np.nonzero(d == -1)
    return list(zip(r.tolist(), starts.tolist(), stops.tolist(), strict=True))
