"""The SLI's per-step event counts, read once from stored history for a backtest.

One range query per SLI expression at the backtest step: ``error_rate(slo, step)`` and
``total_rate(slo, step)`` evaluated every ``step`` (so consecutive windows tile time)
times the step's seconds are the events of each step. The range is split into chunks of
at most ``_range.MAX_POINTS`` steps (Prometheus refuses more than 11,000 points per series).
A step without an error series counts zero errors; a step without traffic counts none.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sloguard.promql import PromQLError, Series
from sloguard.slo._backtest_model import BacktestError, History, LabelSet
from sloguard.slo._range import RangeQuery, on_grid
from sloguard.slo._sli import SLIError, error_rate, total_rate
from sloguard.slo.model import SLO


def http_range_query(url: str, timeout_s: float = 300) -> RangeQuery:
    """``/api/v1/query_range`` of a Prometheus-compatible server at ``url``, through
    ``sloguard.remote.RemoteEngine`` (its retries, and errors naming the URL and the query)."""
    from sloguard.remote import QueryBackend, RemoteEngine, RemoteQueryError

    engine = RemoteEngine(QueryBackend(url=url.rstrip("/"), timeout_s=timeout_s))

    def query(expr: str, start: int, end: int, step: int) -> Sequence[Series]:
        try:
            value = engine.range_query(expr, start, end, step).value
        except RemoteQueryError as e:
            raise BacktestError(f"cannot read history: {e}") from None
        return value if isinstance(value, list) else []  # type: ignore[return-value]

    return query


def _counts(query: RangeQuery, expr: str, t: np.ndarray, step: int) -> dict[LabelSet, np.ndarray]:
    """Per label set, the events of each step of ``t`` (rate x step seconds; 0 where absent)."""
    try:
        rates = on_grid(query, expr, t, step)
    except PromQLError as e:
        raise BacktestError(f"the SLI query {expr!r} failed: {e}") from None
    return {k: np.where(np.isfinite(v), v, 0.0) * (step / 1000) for k, v in rates.items()}


def fetch(query: RangeQuery, slo: SLO, from_ms: int, to_ms: int, step_ms: int, warmup_ms: int) -> History:
    """Counts for steps ending in ``(from - warmup, to]``; the first ``warmup`` only fills windows."""
    if to_ms <= from_ms:
        raise BacktestError(f"--to ({to_ms} ms) must be after --from ({from_ms} ms)")
    first = (from_ms - warmup_ms) // step_ms * step_ms + step_ms
    t = np.arange(first, to_ms + 1, step_ms, dtype=np.int64)
    start_index = int(np.searchsorted(t, from_ms + step_ms))
    try:
        err_expr, tot_expr = error_rate(slo, step_ms), total_rate(slo, step_ms)
    except SLIError as e:
        raise BacktestError(f"SLO {slo.name!r}: {e}") from None
    totals = _counts(query, tot_expr, t, step_ms)
    errors = _counts(query, err_expr, t, step_ms)
    keys = sorted(totals)
    if not keys:
        raise BacktestError(f"SLO {slo.name!r} has no traffic between --from and --to: {tot_expr} returned no series")
    zero = np.zeros(len(t))
    return History(
        t, step_ms, tuple(keys),
        np.vstack([errors.get(k, zero) for k in keys]), np.vstack([totals[k] for k in keys]),
        start_index=start_index,
    )
