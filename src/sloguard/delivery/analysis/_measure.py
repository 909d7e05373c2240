"""One measurement: its phase, and ``assess``, the pure rule from a result to that phase.

Argo Rollouts' rule, made explicit (``utils/evaluate``): with both conditions, a true
``failureCondition`` fails the measurement, else a true ``successCondition`` passes it,
else it is Inconclusive; with only a ``successCondition`` a false one fails; with only a
``failureCondition`` a false one passes; with neither, any result passes. A condition that
cannot be evaluated makes the measurement Error with the reason.

sloguard's addition: before any condition, an empty result (nil, an empty vector or list)
or NaN (a NaN scalar, or a vector whose values are all NaN) is ``NO_DATA``, never handed
to the conditions, where ``all(result, ...)`` of nothing would be true and pass silently.
"""

from __future__ import annotations

import enum
import json
import math
from dataclasses import dataclass

from sloguard.delivery.analysis._metric import Metric
from sloguard.delivery.analysis.condition import ConditionError, normalise_result
from sloguard.delivery.judges import Verdict

#: Longest rendering of a result kept in a measurement.
MAX_VALUE_CHARS = 500


class MeasurementPhase(enum.Enum):
    """The outcome of one measurement. ``NO_DATA`` is sloguard's, with its own limit."""

    SUCCESSFUL = "Successful"
    FAILED = "Failed"
    INCONCLUSIVE = "Inconclusive"
    ERROR = "Error"
    NO_DATA = "NoData"
    #: A judge metric's sample below its judge's minimum: the run waits (see ``judged``).
    INSUFFICIENT_DATA = "InsufficientData"

    @property
    def counts(self) -> bool:
        """Whether the measurement counts towards the metric's ``count`` (errors and no
        data measured nothing, so they are retried instead, as Argo retries errors)."""
        return self in (MeasurementPhase.SUCCESSFUL, MeasurementPhase.FAILED, MeasurementPhase.INCONCLUSIVE)


@dataclass(frozen=True, slots=True)
class Measurement:
    """One measurement of one metric: started and finished (ms since the epoch), its phase,
    the result as text (``[0.97]``, as Argo shows it) and a sentence for Error and no data;
    a judge metric's measurement also holds its judge's ``verdict``."""

    phase: MeasurementPhase
    started_ms: int
    finished_ms: int
    value: str = ""
    message: str = ""
    verdict: Verdict | None = None

    @classmethod
    def error(cls, started_ms: int, finished_ms: int, message: str) -> Measurement:
        return cls(MeasurementPhase.ERROR, started_ms, finished_ms, "", message)


def is_no_data(result: object) -> bool:
    """Nil, an empty list or map, a NaN, or a list whose values are all NaN."""
    if result is None:
        return True
    if isinstance(result, float):
        return math.isnan(result)
    if isinstance(result, list | tuple | dict):
        values = list(result.values()) if isinstance(result, dict) else list(result)
        return not values or all(isinstance(v, float) and math.isnan(v) for v in values)
    return False


def assess_result(metric: Metric, result: object) -> tuple[MeasurementPhase, str]:
    """The phase of a measurement whose provider returned ``result``, and a reason for
    Error and no data (empty otherwise). Pure."""
    try:
        value = normalise_result(result)
    except ConditionError as e:
        return MeasurementPhase.ERROR, str(e)
    if is_no_data(value):
        return MeasurementPhase.NO_DATA, f"the result {render(value)} holds no data"
    try:
        failure, success = metric.failure_condition, metric.success_condition
        failed = failure.evaluate(value) if failure else None
        passed = success.evaluate(value) if success else None
    except ConditionError as e:
        which = "failureCondition" if failure and e.text == failure.text else "successCondition"
        return MeasurementPhase.ERROR, f"{which} could not be evaluated on the result {render(value)}: {e}"
    return _decide(passed, failed), ""


def assess(metric: Metric, result: object) -> MeasurementPhase:
    """``assess_result`` without the reason."""
    return assess_result(metric, result)[0]


def _decide(passed: bool | None, failed: bool | None) -> MeasurementPhase:
    if passed is None and failed is None:
        return MeasurementPhase.SUCCESSFUL
    if failed is None:
        failed = not passed
    if passed is None:
        passed = not failed
    if failed:
        return MeasurementPhase.FAILED
    return MeasurementPhase.SUCCESSFUL if passed else MeasurementPhase.INCONCLUSIVE


def render(result: object) -> str:
    """A result as Argo shows it: ``[0.97]``, ``0.5``, JSON for maps; NaN as ``NaN``."""
    try:
        text = json.dumps(result, separators=(",", ":"), default=str)
    except (TypeError, ValueError):
        text = repr(result)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 3] + "..."


def measure_result(metric: Metric, result: object, started_ms: int, finished_ms: int) -> Measurement:
    """A finished measurement of ``metric`` for ``result``."""
    phase, message = assess_result(metric, result)
    return Measurement(phase, started_ms, finished_ms, render(normalise_or_raw(result)), message)


def normalise_or_raw(result: object) -> object:
    try:
        return normalise_result(result)
    except ConditionError:
        return result
