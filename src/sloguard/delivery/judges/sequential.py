"""Always-valid sequential decisions on error counts: a mixture sequential probability
ratio test (mSPRT) that may be checked at every interval without inflating the
false-rollback rate.

Model: errors in each arm are Poisson over its exposure (requests), so in each interval,
given that interval's ``k`` errors, the canary's count is Binomial(k, q(r)) with
``q(r) = r e_c / (r e_c + e_b)`` and ``r`` the canary/baseline rate ratio. The judge
multiplies the per-interval likelihood ratios of ``r`` against ``r0 = 1 + tolerance`` for
each ratio on a grid (log-spaced over ``(r0, r0 * max_ratio]``: one-sided, only a worse
canary is an alternative) and averages them with the weights of a normal distribution of
``log(r / r0)`` centred on ``log(target_ratio)`` with standard deviation ``spread`` (the
mixing distribution of Johari et al., "Always valid inference", put on the relative
scale and on the side that matters: the mixture is most powerful near the ratio users
want caught soon, and still consistent for any ratio above ``r0``). Under H0
(``r <= r0``) each grid ratio's LR is a nonnegative supermartingale with mean at most 1,
so their weighted average is one too, and by Ville's inequality it ever reaches
``1 / alpha`` with probability at most ``alpha``, whatever the number of looks and
whenever the traffic split changes. (For errors among requests the exact conditional
law under H0 is hypergeometric, which is below the binomial in convex order (Hoeffding,
1963); the likelihood ratio is convex in the count, so its mean stays at most 1 and the
guarantee holds.) ``p_value`` is the always-valid p-value ``min(1, 1 / max LR)``.

With ``looks`` set (the planned number of looks: an Argo metric's ``count``, a rollout
step's duration over the look interval), the judge runs a group-sequential design
instead, spending exactly alpha by the last planned look (module ``_ledger``): the same
mixture likelihood ratio, a lower threshold calibrated to the horizon, and an exact
ledger of the false-rollback probability that keeps it at most alpha over any number of
looks. Its p-value is on the overall scale: at most alpha exactly when a look fails.

State between looks is a :class:`SequentialState`; each look passes the cumulative
counts since the analysis started. A FAIL is final.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace

import numpy as np

from sloguard.delivery.judges._errors import JudgeError
from sloguard.delivery.judges._inputs import Counts, check_alpha, check_minimum, check_tolerance
from sloguard.delivery.judges._ledger import Ledger, boundary, calibrated_log_threshold
from sloguard.delivery.judges._verdict import Outcome, Verdict, fmt, insufficient
from sloguard.delivery.judges.exact import ExactSettings, rate_ratio

NAME = "sequential"


@dataclass(frozen=True, slots=True)
class SequentialSettings:
    """``alpha``: the false-rollback rate over all looks together. ``min_exposure``:
    cumulative requests per arm before a FAIL may be declared. ``tolerance``: allowed
    relative increase of the canary's error rate. The alternatives mixed over:
    ``target_ratio``, the rate ratio (over the allowed ``1 + tolerance``) the judge
    detects soonest, the increase worth catching quickly (a minimum detectable ratio);
    ``spread``, the standard deviation of the log ratio around it; ``grid`` ratios
    log-spaced from just above 1 to ``max_ratio`` (``grid: 1``: the plain SPRT of
    ``target_ratio``). ``looks``: the planned number of looks when it is known (0: not
    known, the mSPRT with Ville's threshold ``1/alpha``); with it the judge spends
    exactly alpha by that look (see the module)."""

    alpha: float = 0.05
    min_exposure: float = 100.0
    tolerance: float = 0.0
    target_ratio: float = 1.8
    spread: float = 0.3
    max_ratio: float = 8.0
    grid: int = 48
    looks: int = 0

    def __post_init__(self) -> None:
        check_alpha(self.alpha, "SequentialSettings")
        check_minimum(self.min_exposure, "min_exposure", "SequentialSettings")
        check_tolerance(self.tolerance, "tolerance", "SequentialSettings")
        if not (self.max_ratio > 1.05 and math.isfinite(self.max_ratio)):
            raise JudgeError(f"SequentialSettings.max_ratio must be above 1.05, got {self.max_ratio!r}.")
        if not 1.02 <= self.target_ratio <= self.max_ratio:
            raise JudgeError(
                f"SequentialSettings.target_ratio must be 1.02 to max_ratio ({self.max_ratio:g}), "
                f"got {self.target_ratio!r}."
            )
        if not 0.05 <= self.spread <= 5.0:
            raise JudgeError(f"SequentialSettings.spread must be 0.05 to 5 (log ratio), got {self.spread!r}.")
        if not 1 <= self.grid <= 1000:
            raise JudgeError(f"SequentialSettings.grid must be 1 to 1000 ratios, got {self.grid!r}.")
        if not 0 <= self.looks <= 100_000:
            raise JudgeError(f"SequentialSettings.looks must be 0 (not known) to 100000, got {self.looks!r}.")

    def ratios(self) -> np.ndarray:
        """The grid's ratios over the allowed one (read-only)."""
        return _mixture(self.target_ratio, self.spread, self.max_ratio, self.grid)[0]

    def log_weights(self) -> np.ndarray:
        """The log mixing weight of each grid ratio; the weights add up to 1 (read-only)."""
        return _mixture(self.target_ratio, self.spread, self.max_ratio, self.grid)[1]


@functools.lru_cache(maxsize=32)
def _mixture(target: float, spread: float, max_ratio: float, grid: int) -> tuple[np.ndarray, np.ndarray]:
    if grid == 1:
        ratios, log_w = np.array([target]), np.zeros(1)
    else:
        ratios = np.exp(np.linspace(math.log(1.02), math.log(max_ratio), grid))
        log_w = -0.5 * ((np.log(ratios) - math.log(target)) / spread) ** 2
        log_w -= _logsumexp(log_w)
    ratios.flags.writeable = log_w.flags.writeable = False
    return ratios, log_w


def _logsumexp(x: np.ndarray) -> float:
    top = float(x.max())
    return top if not math.isfinite(top) else top + math.log(float(np.exp(x - top).sum()))


@dataclass(frozen=True, slots=True)
class SequentialState:
    """The judge's memory between looks: the cumulative counts seen at the last look,
    the log likelihood ratio of every grid ratio, the largest mixture LR at a look with
    enough data, and the look at which the judge failed (None: not failed). With planned
    ``looks``: the H0 ``ledger``, and at the last look with enough data its ``boundary``
    (the canary errors that fail; -1: none yet), the likelihood-ratio ``threshold`` and
    the smallest overall p-value ``min_p``."""

    baseline: Counts = Counts(0.0, 0.0)
    canary: Counts = Counts(0.0, 0.0)
    log_lr: tuple[float, ...] = ()
    looks: int = 0
    max_lr: float = 1.0
    failed_at: int | None = None
    ledger: Ledger | None = None
    boundary: int = -1
    threshold: float = math.nan
    min_p: float = 1.0


def sequential(
    state: SequentialState,
    baseline: Counts,
    canary: Counts,
    settings: SequentialSettings = SequentialSettings(),
) -> tuple[SequentialState, Verdict]:
    """One look: cumulative ``baseline`` and ``canary`` errors/requests since the start."""
    if state.log_lr and len(state.log_lr) != settings.grid:
        raise JudgeError(
            f"The sequential state has {len(state.log_lr)} ratios but the settings ask for "
            f"{settings.grid}; settings must not change during an analysis."
        )
    xb, eb, xc, ec = _increments(state, baseline, canary, state.looks + 1)
    log_lr = np.asarray(state.log_lr or [0.0] * settings.grid) + _log_lr(xb, eb, xc, ec, settings)
    log_mix = _logsumexp(log_lr + settings.log_weights())
    lr = math.exp(log_mix)  # may underflow to 0 when the canary is far better: harmless
    enough = min(baseline.exposure, canary.exposure) >= settings.min_exposure
    max_lr = max(state.max_lr, lr) if enough else state.max_lr
    failed_at = state.failed_at
    new = SequentialState(baseline, canary, tuple(log_lr.tolist()), state.looks + 1, max_lr, failed_at)
    if settings.looks:
        new = _planned_look(state, new, xb + xc, eb, ec, enough, settings)
    elif failed_at is None and enough and lr >= 1 / settings.alpha:
        new = replace(new, failed_at=new.looks)
    return new, _verdict(new, log_mix, enough, settings)


def _planned_look(
    old: SequentialState, new: SequentialState, errors: int, eb: float, ec: float, enough: bool,
    s: SequentialSettings,
) -> SequentialState:
    """The group-sequential look: advance the H0 ledger by this interval; with enough data
    and no FAIL yet, fail when the canary's errors reach the boundary."""
    r0 = 1.0 + s.tolerance
    ledger = old.ledger or Ledger()
    if errors and eb + ec > 0:
        ledger = ledger.advance(errors, r0 * ec / (r0 * ec + eb))
    if not enough or new.failed_at is not None:
        return replace(new, ledger=ledger, boundary=old.boundary, threshold=old.threshold, min_p=old.min_p)
    look, total = new.looks, round(new.baseline.events) + round(new.canary.events)
    q0 = r0 * new.canary.exposure / (r0 * new.canary.exposure + new.baseline.exposure)
    log_c = None
    if look != s.looks:
        log_c = calibrated_log_threshold(total / look, s.looks, q0, s.alpha, s.ratios(), s.log_weights())
    bound = boundary(ledger, total, q0, log_c, s.alpha, s.ratios(), s.log_weights())
    x = round(new.canary.events)
    at_x, at_b = _tail(ledger, x), _tail(ledger, bound)
    p = min(1.0, s.alpha * (at_x / at_b if at_b > 0 else (1.0 if x >= bound else math.inf)))
    if x < bound:  # at most alpha exactly when the look fails, rounding included
        p = max(p, math.nextafter(s.alpha, 2.0))
    threshold = math.exp(log_c) if log_c is not None else math.nan
    failed = look if x >= bound else None
    return replace(new, ledger=ledger.cut(bound), boundary=bound, threshold=threshold,
                   min_p=min(old.min_p, p), failed_at=failed)  # fmt: skip


def _increments(
    state: SequentialState, baseline: Counts, canary: Counts, look: int
) -> tuple[int, float, int, float]:
    out: list[float] = []
    for arm, now, before in (("baseline", baseline, state.baseline), ("canary", canary, state.canary)):
        for field in ("events", "exposure"):
            new, old = getattr(now, field), getattr(before, field)
            if new < old:
                raise JudgeError(
                    f"The {arm}'s cumulative {field} went down from {old:g} to {new:g} at look "
                    f"{look}; the sequential judge needs counts since the analysis started."
                )
            out.append(round(new) - round(old) if field == "events" else new - old)
    return int(out[0]), out[1], int(out[2]), out[3]


def _log_lr(xb: int, eb: float, xc: int, ec: float, s: SequentialSettings) -> np.ndarray:
    """Per grid ratio, the log LR of this interval's canary share of errors."""
    if xb + xc == 0 or eb == 0 or ec == 0:
        if xb + xc and eb + ec == 0:
            raise JudgeError(f"{xb + xc} errors were reported with no requests in the interval.")
        return np.zeros(s.grid)
    r0 = 1.0 + s.tolerance
    q0 = r0 * ec / (r0 * ec + eb)
    r = s.ratios()
    q = r * q0 / (r * q0 + (1 - q0))
    return np.asarray(xc * np.log(q / q0) + xb * np.log((1 - q) / (1 - q0)))


def _tail(ledger: Ledger, x: int) -> float:
    """The ledger's probability of ``x`` or more canary errors."""
    j = x - ledger.lo
    return float(sum(ledger.probs[max(j, 0):])) if j < len(ledger.probs) else 0.0


def _verdict(st: SequentialState, log_mix: float, enough: bool, s: SequentialSettings) -> Verdict:
    b, c, lr = st.baseline, st.canary, math.exp(log_mix)
    if not enough:
        return replace(insufficient(NAME, s.alpha, b.exposure, c.exposure, s.min_exposure, "requests"),
                       likelihood_ratio=lr)  # fmt: skip
    fixed = rate_ratio(b, c, ExactSettings(s.alpha, 0.0, s.tolerance))
    outcome = Outcome.FAIL if st.failed_at is not None else Outcome.PASS
    counts = f"canary {fmt(c.events)} errors in {fmt(c.exposure)} vs baseline {fmt(b.events)} in {fmt(b.exposure)}"
    how, p, details = _planned_how(st, s) if s.looks else _ville_how(st, lr, s)
    reason = f"look {st.looks}: {counts} (rate ratio {fmt(fixed.effect)}); {how}"
    return Verdict(
        NAME, outcome, reason, s.alpha, b.exposure, c.exposure,
        statistic=log_mix, statistic_name="log mixture likelihood ratio",
        p_value=p, likelihood_ratio=lr, effect=fixed.effect, effect_name=fixed.effect_name,
        interval=fixed.interval, details=(("look", float(st.looks)), ("max_likelihood_ratio", st.max_lr),
                 ("target_ratio", s.target_ratio), ("spread", s.spread), *details),
    )  # fmt: skip


def _ville_how(st: SequentialState, lr: float, s: SequentialSettings) -> tuple[str, float, tuple[tuple[str, float], ...]]:
    if st.failed_at is not None:
        how = f"the mixture likelihood ratio reached 1/alpha = {fmt(1 / s.alpha)} at look {st.failed_at}, canary worse"
    else:
        how = f"the mixture likelihood ratio {fmt(lr)} is below 1/alpha = {fmt(1 / s.alpha)}, no evidence the canary is worse yet"
    return how, min(1.0, 1.0 / st.max_lr), ()


def _planned_how(st: SequentialState, s: SequentialSettings) -> tuple[str, float, tuple[tuple[str, float], ...]]:
    spent = st.ledger.spent if st.ledger is not None else 0.0
    where = f"look {st.looks} of {s.looks} planned, alpha spent {fmt(spent)} of {s.alpha:g}"
    if st.failed_at is not None:
        how = f"the canary's errors reached the boundary at look {st.failed_at}, canary worse ({where})"
    else:
        rule = (f"likelihood ratio {fmt(st.threshold)}" if math.isfinite(st.threshold) else "the alpha left")
        how = (f"the boundary is {st.boundary} canary errors ({rule}), not reached: no evidence the canary "
               f"is worse yet ({where})")  # fmt: skip
    details = (("looks_planned", float(s.looks)), ("boundary", float(st.boundary)),
               ("threshold", st.threshold), ("alpha_spent", spent))  # fmt: skip
    return how, st.min_p, details
