"""The ``promql`` provider: an instant query on sloguard's embedded engine (a range query
when the metric has Argo's ``rangeQuery``).

The engine is reached through a ``QueryFunc(expr, time_ms, span)`` so tests can fake it;
``engine_query`` adapts a ``sloguard.promql`` engine. Results take the shapes Argo's
Prometheus provider gives a condition: a scalar is a float, a vector the list of its
values (``result[0]``), a matrix the values of all its series in order.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import ClassVar

from sloguard.delivery.analysis._cond_errors import ConditionError
from sloguard.delivery.analysis._metric import ProviderConfig
from sloguard.delivery.analysis._time_expr import RangeQuery
from sloguard.delivery.analysis.providers._base import ProviderEnv, ProviderError, QueryFunc
from sloguard.promql import Engine, PromQLError, ValueType


@dataclass(frozen=True, slots=True)
class PromQLConfig:
    """``query``: PromQL evaluated at the measurement's time, or over ``range`` (Argo's
    ``rangeQuery``, its times relative to the measurement's)."""

    TYPE: ClassVar[str] = "promql"
    query: str
    range: RangeQuery | None = None


class PromQLProvider:
    TYPE: ClassVar[str] = "promql"

    def __init__(self, config: PromQLConfig, query: QueryFunc) -> None:
        self.config = config
        self._query = query

    @classmethod
    def from_env(cls, config: ProviderConfig, env: ProviderEnv) -> PromQLProvider:
        if not isinstance(config, PromQLConfig):
            raise ProviderError(f"The promql provider was given a {type(config).__name__}.", False)
        if env.query is None:
            raise ProviderError("The promql provider needs the embedded query engine, and none is configured.", False)
        return cls(config, env.query)

    async def query(self, now_ms: int) -> object:
        """The result at ``now_ms``, computed in a worker thread (numpy releases the GIL)."""
        return await run_query(self._query, self.config.query, self.config.range, now_ms)


async def run_query(query: QueryFunc, expr: str, range_: RangeQuery | None, now_ms: int) -> object:
    """``expr`` at ``now_ms``, or over ``range_``'s window at ``now_ms``, in a worker thread."""
    if range_ is None:
        return await asyncio.to_thread(query, expr, now_ms)
    start, end, step = window(range_, now_ms)
    return await asyncio.to_thread(query, expr, end, (start, step))


def window(range_: RangeQuery, now_ms: int) -> tuple[int, int, int]:
    """``range_``'s ``(start, end, step)`` at ``now_ms``; a bad window is a ``ProviderError``
    that trying again at the same time cannot mend (its expressions were checked on reading)."""
    try:
        return range_.window(now_ms)
    except (ValueError, ConditionError) as e:
        raise ProviderError(str(e), False) from None


def engine_query(engine: Engine) -> QueryFunc:
    """A ``QueryFunc`` over a ``sloguard.promql`` engine; its errors become ``ProviderError``
    with the engine's message (a parse error is not retryable)."""

    def query(expr: str, t_ms: int, span: tuple[int, int] | None = None) -> float | list[float]:
        try:
            res = engine.instant_query(expr, t_ms) if span is None else engine.range_query(expr, span[0], t_ms, span[1])
        except PromQLError as e:
            retry = e.error_type.value not in ("bad_data",)
            at = f"{t_ms} ms" if span is None else f"{span[0]}..{t_ms} ms every {span[1]} ms"
            raise ProviderError(f"The query {expr!r} failed at {at}: {e}", retry) from None
        if res.result_type is ValueType.SCALAR:
            return float(res.value.v)  # type: ignore[union-attr]  # a Scalar for SCALAR
        if res.result_type is ValueType.VECTOR:
            return [float(s.v) for s in res.value]  # type: ignore[union-attr]  # a Vector
        if res.result_type is ValueType.MATRIX:
            return [float(v) for s in res.value for v in s.values]  # type: ignore[union-attr]
        raise ProviderError(f"The query {expr!r} returned a string, which a metric cannot judge.", False)

    return query
