"""Alpha spending: repeated looks with any fixed-sample judge, without inflating the
false-rollback rate. The judge is not changed: at look ``i`` of ``looks`` planned, it is
called with ``alpha`` replaced by that look's share of the total,
``f(i / looks) - f((i - 1) / looks)``, where ``f`` is a Lan-DeMets spending function
(Pocock-type ``alpha * ln(1 + (e - 1) t)``, or O'Brien-Fleming-type
``2 - 2 Phi(z_{1 - alpha/2} / sqrt(t))``, which spends little early). The shares add up
to ``alpha``, so by the union bound the chance of any false FAIL over all looks is at
most ``alpha`` whatever the correlation between looks (conservative: exact group-
sequential boundaries would use the correlation to spend less). Past the planned looks
nothing is left to spend and the judge cannot fail; a look whose judge answers
INSUFFICIENT_DATA uses up its share all the same. A FAIL is final.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol, TypeVar

from sloguard.delivery.judges._errors import JudgeError
from sloguard.delivery.judges._inputs import check_alpha
from sloguard.delivery.judges._verdict import Outcome, Verdict, fmt

NAME = "alpha-spending"


class HasAlpha(Protocol):
    @property
    def alpha(self) -> float: ...


S = TypeVar("S", bound=HasAlpha)
Judge = Callable[[Any, Any, S], Verdict]


class Spending(enum.Enum):
    POCOCK = "pocock"
    OBRIEN_FLEMING = "obrien-fleming"

    def spent(self, alpha: float, t: float) -> float:
        """Total alpha spent by information fraction ``t`` in [0, 1]."""
        t = min(max(t, 0.0), 1.0)
        if t == 0:
            return 0.0
        if self is Spending.POCOCK:
            return alpha * math.log(1 + (math.e - 1) * t)
        from scipy import special

        z = -float(special.ndtri(alpha / 2))
        return min(alpha, 2 * float(special.ndtr(-z / math.sqrt(t))))


@dataclass(frozen=True, slots=True)
class SpendingSettings:
    """``alpha``: the total over all looks; ``looks``: how many are planned (an Argo
    metric's ``count``); ``spending``: the spending function."""

    alpha: float = 0.05
    looks: int = 20
    spending: Spending = Spending.POCOCK

    def __post_init__(self) -> None:
        check_alpha(self.alpha, "SpendingSettings")
        if not 1 <= self.looks <= 100_000:
            raise JudgeError(f"SpendingSettings.looks must be 1 to 100000, got {self.looks!r}.")

    def look_alpha(self, look: int) -> float:
        f = self.spending.spent
        return f(self.alpha, look / self.looks) - f(self.alpha, (look - 1) / self.looks)


@dataclass(frozen=True, slots=True)
class SpendingState:
    """Looks taken so far and the look of the first FAIL (None: not failed)."""

    looks: int = 0
    failed_at: int | None = None


def spending_look(
    state: SpendingState,
    judge: Judge[S],
    baseline: Any,
    canary: Any,
    judge_settings: S,
    settings: SpendingSettings = SpendingSettings(),
) -> tuple[SpendingState, Verdict]:
    """One look: run ``judge`` on the cumulative data at this look's share of alpha."""
    look = state.looks + 1
    share = settings.look_alpha(look)
    inner = judge(baseline, canary, replace(judge_settings, alpha=share)) if share > 0 else None  # type: ignore[type-var]
    failed_at = state.failed_at
    if failed_at is None and inner is not None and inner.outcome is Outcome.FAIL:
        failed_at = look
    new = SpendingState(look, failed_at)
    return new, _verdict(new, inner, share, settings)


def _verdict(st: SpendingState, inner: Verdict | None, share: float, s: SpendingSettings) -> Verdict:
    where = f"look {st.looks} of {s.looks} ({s.spending.value} spending, alpha {fmt(share)} of {s.alpha:g})"
    if inner is None:
        reason = f"look {st.looks}: past the {s.looks} planned looks, no alpha is left to spend"
        outcome = Outcome.FAIL if st.failed_at is not None else Outcome.INCONCLUSIVE
        return Verdict(NAME, outcome, reason, s.alpha, math.nan, math.nan)
    if st.failed_at is not None and inner.outcome is not Outcome.FAIL:
        return replace(inner, outcome=Outcome.FAIL, alpha=s.alpha, p_value=_overall(inner.p_value, share, s),
                       reason=f"{where}: failed at look {st.failed_at}; now {inner.reason}")  # fmt: skip
    return replace(inner, alpha=s.alpha, reason=f"{where}: {inner.reason}", p_value=_overall(inner.p_value, share, s))


def _overall(p: float | None, share: float, s: SpendingSettings) -> float | None:
    """The look's p-value on the overall scale: at most ``alpha`` exactly when it is at
    most this look's share (so the correction across metrics can use it)."""
    return None if p is None else min(1.0, p * s.alpha / share)
