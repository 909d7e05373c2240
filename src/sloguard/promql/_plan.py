"""Sizing a query before it allocates: the dense cells its selectors will need.

The evaluator holds every node's value as ``(series, steps)`` arrays. Before a range
query (or a query with a subquery) runs, ``footprint`` asks the storage's index how many
series each selector matches (no samples are read) and models the cells the selectors'
values take as ``per_step * c + fixed`` for a chunk of ``c`` outer steps (a function
streamed over a range selector, see ``_streamed``, counts its output only): a selector at
the top level is evaluated at ``c`` points, one inside a subquery at every point of the
subquery's grid, which spans the chunk plus the subquery's range. The engine splits the
steps into chunks that fit ``EngineOptions.chunk_cells`` and refuses, before allocating
anything, a query whose one step alone cannot fit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sloguard.labels import Matcher
from sloguard.promql._ast import (
    At,
    AtKind,
    Call,
    MatrixSelector,
    Node,
    Subquery,
    VectorSelector,
    children,
    unwrap_parens,
)
from sloguard.promql._streamed import streams
from sloguard.tsdb import Querier

#: A matrix selector's value holds window starts, ends and counts per cell.
_MATRIX_WEIGHT = 3


@dataclass(frozen=True, slots=True)
class Footprint:
    """Cells for a chunk of ``c`` steps: ``per_step * c + fixed`` (an estimate)."""

    per_step: float = 0.0
    fixed: float = 0.0

    def cells(self, c: int) -> int:
        return int(self.per_step * c + self.fixed)

    def chunk_steps(self, budget: int, k: int) -> int:
        """The most steps (at least 1, at most ``k``) whose cells fit ``budget``."""
        if self.per_step <= 0:
            return k
        return max(1, min(k, int((budget - self.fixed) // self.per_step)))


@dataclass(frozen=True, slots=True)
class _Level:
    """Evaluation points at one level: their span is ``a * c + b`` ms at ``step`` ms."""

    a: float
    b: float
    step: int
    #: How far before the query's start this level reaches (enclosing ranges, offsets).
    back_ms: int = 0

    def points(self) -> tuple[float, float]:
        return self.a / self.step, self.b / self.step + 1


@dataclass(frozen=True, slots=True)
class Planner:
    """Walks one query's tree; ``count`` is the querier's series estimate."""

    querier: Querier
    start_ms: int
    end_ms: int
    lookback_ms: int
    default_subquery_step_ms: int
    #: Per subquery node (``id``): the cells of its inner expression per grid point,
    #: so its grid can be evaluated in chunks too.
    subqueries: dict[int, Footprint] = field(default_factory=dict)

    def footprint(self, node: Node, step_ms: int) -> Footprint:
        step = max(1, step_ms)
        per, fixed = self._walk(node, _Level(step, -step, step))
        return Footprint(per, fixed)

    def _walk(self, node: Node, lv: _Level) -> tuple[float, float]:
        streamed = streams(node, self.querier)
        if streamed is not None and isinstance(node, Call):
            # evaluated a piece of series at a time: only its output is held whole
            rest = (self._walk(a, lv) for a in node.args if unwrap_parens(a) is not streamed)
            return _sum([self._cells(streamed.selector, lv, streamed.range_ms, 1), *rest])
        match node:
            case VectorSelector():
                return self._cells(node, lv, 0, 1)
            case MatrixSelector():
                return self._cells(node.selector, lv, node.range_ms, _MATRIX_WEIGHT)
            case Subquery():
                return self._subquery(node, lv)
        return _sum(self._walk(child, lv) for child in children(node))

    def _subquery(self, node: Subquery, lv: _Level) -> tuple[float, float]:
        """The inner cells per grid point (remembered), then over this level's chunk."""
        inner = self._inner(node, lv)
        per, fixed = self._walk(node.expr, _Level(inner.step, -inner.step, inner.step, inner.back_ms))
        self.subqueries[id(node)] = Footprint(per, fixed)
        pa, pb = inner.points()  # grid points for a chunk of c steps at this level
        return per * pa, per * pb + fixed

    def _inner(self, node: Subquery, lv: _Level) -> _Level:
        step = max(1, node.step_ms or self.default_subquery_step_ms)
        back = lv.back_ms + node.range_ms + node.offset_ms
        if node.at is not None:
            return _Level(0, node.range_ms, step, back)
        return _Level(lv.a, lv.b + node.range_ms, step, back)

    def _cells(self, sel: VectorSelector, lv: _Level, range_ms: int, weight: int) -> tuple[float, float]:
        lo, hi = self._bounds(sel.at, sel.offset_ms)
        n = self.count(sel.matchers, lo - lv.back_ms - range_ms - self.lookback_ms, hi)
        pa, pb = lv.points()
        return n * weight * pa, n * weight * pb

    def _bounds(self, at: At | None, offset_ms: int) -> tuple[int, int]:
        if at is None:
            return self.start_ms - offset_ms, self.end_ms - offset_ms
        t = {AtKind.START: self.start_ms, AtKind.END: self.end_ms}.get(at.kind, at.t_ms)
        return t - offset_ms, t - offset_ms

    def count(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> int:
        estimate = getattr(self.querier, "estimate_series", None)
        if estimate is not None:
            return int(estimate(matchers, mint, maxt))
        return len(self.querier.series(matchers, mint, maxt))


def _sum(parts: Iterable[tuple[float, float]]) -> tuple[float, float]:
    a = b = 0.0
    for pa, pb in parts:
        a += pa
        b += pb
    return a, b


def has_subquery(node: Node) -> bool:
    """Whether a subquery occurs anywhere in the tree."""
    if isinstance(node, Subquery):
        return True
    if isinstance(node, MatrixSelector | VectorSelector):
        return False
    return any(has_subquery(c) for c in children(node))
