"""Running a dashboard's queries as Grafana would, on a TSDB: variables substituted, range
queries over the last hour at a 1-minute step (the last value of each series kept),
instant queries at the end."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sloguard.dashboards import substitute, targets
from sloguard.promql._value import Sample, Series
from sloguard.promql.engine import PromQLEngine

M = 60_000


@dataclass(frozen=True)
class Result:
    """A target's series: ``{label: value}`` (without ``__name__``) -> last value."""

    panel: str
    ref_id: str
    expr: str
    series: dict[frozenset[tuple[str, str]], float]

    def value(self, **labels: str) -> float:
        """The value of the one series whose labels include ``labels``."""
        found = [v for k, v in self.series.items() if set(labels.items()) <= set(k)]
        if len(found) != 1:
            raise AssertionError(f"{self.panel}/{self.ref_id}: {len(found)} series match {labels}: {self.series}")
        return found[0]


def evaluate(engine: PromQLEngine, dashboard: dict[str, Any], end: int) -> list[Result]:
    out = []
    for t in targets(dashboard):
        expr = substitute(t.expr)
        if t.instant:
            vector = engine.instant_query(expr, end).value
            assert isinstance(vector, list)
            series = {_key(s): s.v for s in vector if isinstance(s, Sample)}
        else:
            matrix = engine.range_query(expr, end - 60 * M, end, M).value
            assert isinstance(matrix, list)
            series = {_key(s): float(s.values[-1]) for s in matrix if isinstance(s, Series) and len(s.values)}
        out.append(Result(t.panel, t.ref_id, t.expr, series))
    return out


def _key(s: Sample | Series) -> frozenset[tuple[str, str]]:
    return frozenset((k, v) for k, v in s.labels.to_dict().items() if k != "__name__")


def by_panel(results: list[Result]) -> dict[tuple[str, str], Result]:
    return {(r.panel, r.ref_id): r for r in results}


def empty(results: list[Result]) -> list[str]:
    """A sentence per query that returned no series."""
    return [f"panel {r.panel!r} query {r.ref_id} returned no data: {r.expr}" for r in results if not r.series]
