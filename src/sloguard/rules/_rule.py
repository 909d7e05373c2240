"""What a rule is to its group: the ``QueryFunc`` it reads through, health, and bookkeeping."""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from sloguard.labels import Labels
from sloguard.promql import Sample, Vector
from sloguard.rules._errors import RulesError

if TYPE_CHECKING:
    from sloguard.rules._alert import Alert
    from sloguard.tsdb import Querier, SharedSelects

#: The engine as the rules see it: ``(expr, time in ms) -> Vector`` (a scalar becomes one
#: sample with no labels). Raising means the evaluation failed; the message is kept.
QueryFunc = Callable[[str, int], Vector]

#: Where alerts leave: ``(rule expression, alerts to send)``, like Prometheus' NotifyFunc
#: (the expression builds the ``generatorURL``). May return an awaitable.
NotifyFunc = Callable[[str, Sequence["Alert"]], "None | Awaitable[None]"]


class RuleHealth(enum.Enum):
    UNKNOWN = "unknown"
    GOOD = "ok"
    BAD = "err"


class RuleEvalError(RulesError):
    """A rule's evaluation failed; ``str()`` is what ``lastError`` shows."""


@dataclass(slots=True)
class RuleStatus:
    """Mutable per-rule bookkeeping shown by ``/api/v1/rules``."""

    health: RuleHealth = RuleHealth.UNKNOWN
    last_error: str = ""
    last_evaluation_s: float | None = None  # wall-clock time (unix seconds)
    evaluation_time_s: float = 0.0


class Rule(Protocol):
    """A recording or alerting rule."""

    status: RuleStatus

    @property
    def name(self) -> str: ...

    @property
    def expr(self) -> str: ...

    @property
    def labels(self) -> Labels: ...

    def eval(self, ts: int, query: QueryFunc, limit: int) -> Vector: ...


class RuleBase:
    """What recording and alerting rules share: a name, an expression, the rule's own
    labels (sorted), and the status ``/api/v1/rules`` shows."""

    def __init__(self, name: str, expr: str, labels: Sequence[tuple[str, str]] = ()) -> None:
        self._name = name
        self._expr = expr
        self.rule_labels: tuple[tuple[str, str], ...] = tuple(sorted(labels))
        self.status = RuleStatus()

    @property
    def name(self) -> str:
        return self._name

    @property
    def expr(self) -> str:
        return self._expr

    @property
    def labels(self) -> Labels:
        return Labels(self.rule_labels)


def scalar_or_vector(result: object, t: int) -> Vector:
    """Accept an engine result that is a Vector, or a Scalar (one label-less sample)."""
    from sloguard.promql import Scalar

    if isinstance(result, Scalar):
        return [Sample(Labels(), t, result.v)]
    if isinstance(result, list):
        return result
    raise RuleEvalError("rule result is not a vector or scalar")


def engine_query_func(engine: object) -> QueryFunc:
    """Prometheus' ``EngineQueryFunc``: instant queries; scalars become one sample; strings
    and matrices are refused with Prometheus' message. Its ``shared`` gives the query
    function for one group evaluation, whose queries share selects (see ``SharedQuery``)."""
    return EngineQuery(engine)


class EngineQuery:
    def __init__(self, engine: object, querier: Querier | None = None) -> None:
        self._engine = engine
        self._querier = querier

    def __call__(self, expr: str, t: int) -> Vector:
        from sloguard.promql import ValueType

        res = self._engine.instant_query(expr, t, querier=self._querier)  # type: ignore[attr-defined]
        if res.result_type not in (ValueType.VECTOR, ValueType.SCALAR):
            raise RuleEvalError("rule result is not a vector or scalar")
        return scalar_or_vector(res.value, t)

    def shared(self, spans: dict[Any, int]) -> SharedQuery:
        from sloguard.tsdb import SharedSelects

        storage = self._engine.storage  # type: ignore[attr-defined]
        return SharedQuery(self._engine, SharedSelects(storage.querier(), spans))


class SharedQuery(EngineQuery):
    """The query function of one group evaluation: its queries read through one
    ``SharedSelects``; ``invalidate`` names metrics the group has just written."""

    def __init__(self, engine: object, selects: SharedSelects) -> None:
        super().__init__(engine, selects)
        self.invalidate = selects.invalidate
