"""Range queries on an evenly spaced grid of times, split below the points limit.

Used wherever the slo package reads an expression at many steps at once (history,
backtests): one range query per chunk of at most ``MAX_POINTS`` steps (Prometheus and
sloguard refuse more than 11,000 points per series), each value put at its step's index.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

from sloguard.promql import Engine, Series

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Key = tuple[tuple[str, str], ...]
#: ``(expr, start_ms, end_ms, step_ms) -> series`` of a range query.
RangeQuery = Callable[[str, int, int, int], Sequence[Series]]
MAX_POINTS = 10_000


def engine_range_query(engine: Engine) -> RangeQuery:
    def query(expr: str, start: int, end: int, step: int) -> Sequence[Series]:
        value = engine.range_query(expr, start, end, step).value
        return value if isinstance(value, list) else []  # type: ignore[return-value]

    return query


def on_grid(query: RangeQuery, expr: str, times: I64, step_ms: int) -> dict[Key, F64]:
    """``expr`` at each of ``times`` (``step_ms`` apart), per label set; NaN where absent."""
    out: dict[Key, F64] = {}
    for lo in range(0, len(times), MAX_POINTS):
        part = times[lo:lo + MAX_POINTS]
        for s in query(expr, int(part[0]), int(part[-1]), step_ms):
            row = out.setdefault(tuple(s.labels.drop_metric_name()), np.full(len(times), np.nan))
            idx = lo + (s.timestamps - part[0]) // step_ms
            ok = (idx >= lo) & (idx < lo + len(part))
            row[idx[ok]] = s.values[ok]
    return out
