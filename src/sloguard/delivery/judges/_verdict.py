"""What every judge returns: a :class:`Verdict`, the evidence behind one decision."""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sloguard.delivery.judges._errors import JudgeError


class Outcome(enum.Enum):
    """PASS: no evidence that the canary is worse. FAIL: evidence at the judge's level.
    INSUFFICIENT_DATA: fewer samples than the judge's minimum; by policy the rollout waits
    or asks a person. INCONCLUSIVE: enough data, but the test cannot decide (e.g. no
    variation at all), so a person decides."""

    PASS = "pass"
    FAIL = "fail"
    INSUFFICIENT_DATA = "insufficient_data"
    INCONCLUSIVE = "inconclusive"


@dataclass(frozen=True, slots=True)
class Interval:
    """A confidence interval ``[low, high]`` at ``level`` (0.95 = 95 %) for the effect.
    One-sided intervals use ``-inf`` or ``inf`` for the open end."""

    low: float
    high: float
    level: float

    def __str__(self) -> str:
        return f"[{fmt(self.low)}, {fmt(self.high)}] at {self.level:.0%}"


@dataclass(frozen=True, slots=True)
class Verdict:
    """One judge's decision on one baseline/canary comparison.

    ``statistic`` is the test statistic named ``statistic_name`` (NaN when none was
    computed); ``p_value`` is one-sided, "canary worse" (None when the judge decides by a
    likelihood ratio alone); ``likelihood_ratio`` is set by sequential judges;
    ``effect`` is measured as ``effect_name`` says (e.g. "canary/baseline error-rate
    ratio") with ``interval`` around it. ``baseline_n``/``canary_n`` are the sample sizes
    the judge saw (requests, observations or exposure). ``reason`` is one sentence for a
    person (``sloguard rollout explain`` prints it); ``details`` holds extra named figures
    (quantile estimates, thresholds) as ``(name, value)`` pairs.
    """

    judge: str
    outcome: Outcome
    reason: str
    alpha: float
    baseline_n: float
    canary_n: float
    statistic: float = math.nan
    statistic_name: str = ""
    p_value: float | None = None
    likelihood_ratio: float | None = None
    effect: float = math.nan
    effect_name: str = ""
    interval: Interval | None = None
    details: tuple[tuple[str, float], ...] = field(default=())

    @property
    def failed(self) -> bool:
        return self.outcome is Outcome.FAIL

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe mapping for the state store and the API: non-finite numbers are
        written as Prometheus writes them (``"NaN"``, ``"+Inf"``, ``"-Inf"``), an absent
        p-value or likelihood ratio as null. :meth:`from_dict` reads it back."""
        iv = self.interval
        return {
            "judge": self.judge,
            "outcome": self.outcome.value,
            "reason": self.reason,
            "alpha": self.alpha,
            "baseline_n": _json(self.baseline_n),
            "canary_n": _json(self.canary_n),
            "statistic": _json(self.statistic),
            "statistic_name": self.statistic_name,
            "p_value": _json(self.p_value),
            "likelihood_ratio": _json(self.likelihood_ratio),
            "effect": _json(self.effect),
            "effect_name": self.effect_name,
            "interval": None
            if iv is None
            else {"low": _json(iv.low), "high": _json(iv.high), "level": iv.level},
            "details": {name: _json(value) for name, value in self.details},
        }


def verdict_from_dict(d: Mapping[str, Any]) -> Verdict:
    """A :class:`Verdict` from :meth:`Verdict.to_dict`'s mapping (as stored)."""
    iv = d.get("interval")
    try:
        return Verdict(
            judge=str(d["judge"]), outcome=Outcome(d["outcome"]), reason=str(d["reason"]),
            alpha=_num(d["alpha"]), baseline_n=_num(d["baseline_n"]), canary_n=_num(d["canary_n"]),
            statistic=_num(d["statistic"]), statistic_name=str(d["statistic_name"]),
            p_value=_opt(d["p_value"]), likelihood_ratio=_opt(d["likelihood_ratio"]),
            effect=_num(d["effect"]), effect_name=str(d["effect_name"]),
            interval=None if iv is None else Interval(_num(iv["low"]), _num(iv["high"]), _num(iv["level"])),
            details=tuple((str(k), _num(v)) for k, v in d["details"].items()),
        )  # fmt: skip
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise JudgeError(f"A stored verdict cannot be read ({type(err).__name__}: {err}): {dict(d)!r}.") from None


def insufficient(
    judge: str, alpha: float, baseline_n: float, canary_n: float, minimum: float, unit: str
) -> Verdict:
    """The INSUFFICIENT_DATA verdict with the counts and the minimum in its reason."""
    reason = (
        f"insufficient data: baseline has {fmt(baseline_n)} and canary {fmt(canary_n)} "
        f"{unit}, the minimum is {fmt(minimum)} each"
    )
    return Verdict(judge, Outcome.INSUFFICIENT_DATA, reason, alpha, baseline_n, canary_n)


def decide(p_value: float, alpha: float) -> Outcome:
    return Outcome.FAIL if p_value <= alpha else Outcome.PASS


def fmt(x: float | None) -> str:
    """A number for a sentence: ``0.0123``, ``1.2e-07``, ``3,000``, ``inf``."""
    if x is None or math.isnan(x):
        return "n/a"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    if float(x).is_integer() and abs(x) < 1e15:
        return f"{int(x):,}"
    if abs(x) >= 1000 or abs(x) < 1e-3:
        return f"{x:.2g}"
    return f"{x:.3g}"


def pct(x: float) -> str:
    return f"{x * 100:.3g}%"


def verdict_word(outcome: Outcome) -> str:
    return "canary worse" if outcome is Outcome.FAIL else "no evidence the canary is worse"


def _json(x: float | None) -> float | str | None:
    if x is None:
        return None
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    return float(x)


def _num(x: Any) -> float:
    return float(x)  # float() reads "NaN", "+Inf" and "-Inf" as well


def _opt(x: Any) -> float | None:
    return None if x is None else _num(x)
