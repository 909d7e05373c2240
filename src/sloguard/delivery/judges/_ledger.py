"""Exact accounting of the false-rollback probability of the sequential judge when the
number of looks is known (``SequentialSettings.looks``): a group-sequential design on the
conditional binomial walk.

Under H0 (canary/baseline rate ratio ``r0``), given the errors of both arms in each
interval, the canary's share of them is Binomial(k, q0) with a known q0 (the exposures'
split), independent of the unknown base rate and of the totals themselves. So, given
the totals seen so far, the law of the canary's cumulative count on paths that have not
failed yet is computed exactly by convolution (dynamic programming over the observed
totals): the :class:`Ledger`. At each look the judge fails when the count reaches a
boundary; the ledger gives the probability of crossing it, and the boundary is raised
whenever that would take the total spent above alpha. Whatever the boundaries (they may
depend on the totals, never on the split), the chance of any false FAIL is at most
alpha, for any number of looks. Probability mass trimmed for speed is counted as spent,
so trimming errs on the safe side.

The boundary is the mixture likelihood ratio's, ``LR >= c``, with ``c`` calibrated (by the
same dynamic programming, on a run of ``looks`` looks with the mean totals per look seen
so far) so that the whole design spends alpha by the last planned look, instead of the
2-4 % that Ville's ``1/alpha`` spends over a finite horizon with discrete looks. The
last planned look spends whatever is left.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

#: Probability below which the ends of a distribution are dropped (and counted as spent).
TRIM = 1e-15


@dataclass(frozen=True, slots=True)
class Ledger:
    """Under H0, given the totals so far: ``probs[j]`` is the probability that the
    canary's cumulative errors are ``lo + j`` on a path that has not failed; ``spent``
    is the probability of having failed (plus any trimmed mass), never above alpha."""

    lo: int = 0
    probs: tuple[float, ...] = (1.0,)
    spent: float = 0.0

    def advance(self, errors: int, q0: float) -> Ledger:
        """The ledger after an interval with ``errors`` errors in both arms, the canary's
        expected share of them ``q0`` under H0."""
        if errors == 0:
            return self
        p = np.convolve(np.asarray(self.probs), binomial_pmf(errors, q0))
        return _trimmed(p, self.lo, self.spent)

    def tails(self) -> np.ndarray:
        """``tails[j]``: the probability of ``lo + j`` or more errors (and no failure)."""
        p = np.asarray(self.probs)
        return np.cumsum(p[::-1])[::-1]

    def cut(self, boundary: int) -> Ledger:
        """The ledger after failing every path at ``boundary`` errors or more."""
        j = min(max(boundary - self.lo, 0), len(self.probs))
        crossed = float(np.sum(self.probs[j:]))
        return Ledger(self.lo, self.probs[:j] or (0.0,), self.spent + crossed)


def binomial_pmf(n: int, q: float) -> np.ndarray:
    """Binomial(n, q) probabilities of 0..n (faster than ``scipy.stats.binom.pmf``)."""
    if q <= 0.0 or q >= 1.0:
        out = np.zeros(n + 1)
        out[0 if q <= 0.0 else n] = 1.0
        return out
    from scipy import special  # here, not at import: loading the judges must not load scipy

    k = np.arange(n + 1, dtype=np.float64)
    log_pmf = special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)
    return np.asarray(np.exp(log_pmf + k * math.log(q) + (n - k) * math.log1p(-q)))


def _trimmed(p: np.ndarray, lo: int, spent: float) -> Ledger:
    if not p.sum() > 0:  # every path has failed (the last planned look spent all)
        return Ledger(lo, (0.0,), spent)
    cs = np.cumsum(p)
    a = int(np.searchsorted(cs, TRIM))
    b = p.size - int(np.searchsorted(np.cumsum(p[::-1]), TRIM))
    b = max(b, a + 1)
    dropped = float(p[:a].sum() + p[b:].sum())
    return Ledger(lo + a, tuple(p[a:b].tolist()), spent + dropped)


def lowest_count(
    total: int, q0: float, log_c: float, ratios: np.ndarray, log_w: np.ndarray, start: int = 0
) -> int:
    """The fewest canary errors among ``total`` whose mixture likelihood ratio reaches
    ``exp(log_c)`` (``total + 1``: none does); the ratio rises with the count."""
    q = ratios * q0 / (ratios * q0 + 1 - q0)
    up, down = np.log(q / q0), np.log((1 - q) / (1 - q0))

    def reach(x: np.ndarray) -> np.ndarray:
        ll = x[:, None] * up + (total - x)[:, None] * down + log_w
        top = ll.max(axis=1)
        return np.asarray(top + np.log(np.exp(ll - top[:, None]).sum(axis=1)) >= log_c)

    # Each ratio's term bounds the mixture: from below by its own weight, from above
    # (the weights add up to 1) by itself: the count lies between the two crossings.
    slope = up - down
    need = (log_c - total * down) / slope
    lo = max(start, 0, math.ceil(float(need.min()) - 1e-9))
    hi = min(total + 1, math.ceil(float((need - log_w / slope).min()) + 1e-9))
    while lo < hi:
        x = np.arange(lo, min(lo + 256, hi), dtype=np.float64)
        hit = reach(x)
        if hit.any():
            return lo + int(hit.argmax())
        lo += x.size
    return max(hi, start)


def boundary(
    ledger: Ledger, total: int, q0: float, log_c: float | None, alpha: float,
    ratios: np.ndarray, log_w: np.ndarray,
) -> int:
    """This look's boundary: the mixture's (``log_c`` None: none, spend all that is
    left), raised until crossing it keeps the spent total at most ``alpha``."""
    tails = ledger.tails()
    room = alpha - ledger.spent
    fits = np.nonzero(tails <= room)[0]
    by_budget = ledger.lo + (int(fits[0]) if fits.size else len(tails))
    if log_c is None:
        return by_budget
    return max(by_budget, lowest_count(total, q0, log_c, ratios, log_w, ledger.lo))


def calibrated_log_threshold(
    per_look: float, looks: int, q0: float, alpha: float, ratios: np.ndarray, log_w: np.ndarray
) -> float:
    """The log threshold ``log c <= log(1/alpha)`` at which the mixture design spends
    alpha over ``looks`` looks of ``per_look`` errors each (one error every few looks
    when fewer; rounded to a grid of steps of 1/8 in log, about 13 %, and q0 to three
    significant figures, so looks and runs share it: the threshold changes slowly)."""
    if per_look >= 1:
        n, k = round(math.exp(round(math.log(per_look) * 8) / 8)), looks
    else:
        n, k = 1, max(1, round(looks * per_look))
    key = (n, k, float(f"{q0:.3g}"), alpha, ratios.tobytes(), log_w.tobytes())
    return _calibrate(*key)


@functools.lru_cache(maxsize=512)
def _calibrate(n: int, looks: int, q0: float, alpha: float, ratios_b: bytes, log_w_b: bytes) -> float:
    ratios, log_w = np.frombuffer(ratios_b), np.frombuffer(log_w_b)

    def crossing(log_c: float) -> float:
        ledger = Ledger()
        for i in range(1, looks + 1):
            ledger = ledger.advance(n, q0)
            ledger = ledger.cut(lowest_count(n * i, q0, log_c, ratios, log_w, ledger.lo))
            if ledger.spent > alpha:
                break
        return ledger.spent

    a, b = 0.0, math.log(1 / alpha)
    if crossing(b) > alpha:  # cannot happen by Ville's inequality; stay on the safe side
        return b
    for _ in range(10):  # log c to within log(1/alpha) / 1024
        mid = (a + b) / 2
        a, b = (a, mid) if crossing(mid) <= alpha else (mid, b)
    return b
