"""Budgets the overview computes for SLOs without a budget record are kept as long as a
recorded budget stands (``ui._fallback``), so a live overview does not recompute them on
every refresh; the rows built from the records are the same whatever the number of SLOs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np

from sloguard.clock import ManualClock
from sloguard.labels import Labels
from sloguard.ui import _recorded
from sloguard.ui._api import ApiResult
from sloguard.ui._fallback import BUDGET_INTERVAL_MS, MAX_ENTRIES, FallbackCache
from tests.ui.test_overview_recorded import _client, _rows

T = TypeVar("T")


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to its end on a loop of its own thread (a browser test's loop may be running here)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _get(cache: FallbackCache, spec: dict[str, object], answer: ApiResult, calls: list[str]) -> ApiResult:
    async def compute() -> ApiResult:
        calls.append(str(spec["name"]))
        return answer

    return _run(cache.get(spec, compute))


def test_an_answer_is_kept_for_the_budget_interval_per_spec_and_only_when_ok() -> None:
    clock, calls = ManualClock(0), []  # type: ignore[var-annotated]
    cache = FallbackCache(clock=clock)
    spec = {"name": "a", "objective": 0.99}
    first = _get(cache, spec, ApiResult(True, data={"v": 1}), calls)
    assert _get(cache, spec, ApiResult(True, data={"v": 2}), calls) is first and calls == ["a"]
    assert _get(cache, {**spec, "objective": 0.9}, ApiResult(True, data={"v": 3}), calls).data == {"v": 3}
    _run(clock.advance_to(BUDGET_INTERVAL_MS))
    assert _get(cache, spec, ApiResult(True, data={"v": 4}), calls).data == {"v": 4}
    failed = ApiResult(False, error="boom", status=500)
    assert _get(cache, {"name": "b"}, failed, calls) is failed
    assert _get(cache, {"name": "b"}, ApiResult(True, data={"v": 5}), calls).data == {"v": 5}
    assert calls == ["a", "a", "a", "b", "b"]


def test_the_cache_holds_at_most_max_entries() -> None:
    cache, calls = FallbackCache(clock=ManualClock(0)), []  # type: ignore[var-annotated]
    for i in range(MAX_ENTRIES + 5):
        _get(cache, {"name": str(i)}, ApiResult(True, data=i), calls)
    assert len(cache._kept) <= MAX_ENTRIES
    assert _get(cache, {"name": str(MAX_ENTRIES + 4)}, ApiResult(True, data=-1), calls).data == MAX_ENTRIES + 4


def test_the_overview_reuses_a_computed_budget_until_the_budget_interval_passed() -> None:
    client = _client()
    clock = ManualClock(0)
    client.app.state.ui_fallbacks = FallbackCache(clock=clock)  # type: ignore[attr-defined]
    before = float(_rows(client.get("/").text)["unruled"])
    storage = client.app.state.ctx.storage  # type: ignore[attr-defined]
    now = int(time.time() * 1000)
    ts = list(range(now - 3_600_000, now, 60_000))
    storage.add(Labels.of(name__="req_total", code="500", route="/x"), ts, np.cumsum(np.full(len(ts), 50.0)).tolist())
    assert float(_rows(client.get("/").text)["unruled"]) == before  # kept: not computed again
    _run(clock.advance_to(BUDGET_INTERVAL_MS))
    assert float(_rows(client.get("/").text)["unruled"]) < before  # computed again: many more errors


def test_rows_are_indexed_by_slo_not_scanned_per_slo() -> None:
    got: dict[str, _recorded.Recorded] = {"remaining": {"s": {(("route", "/a"),): [("m", 0.5)], (("route", "/b"),): [("m", 0.2)]}},
           "period_burn": {}, "ratios": {"s": {(("route", "/a"),): [("slo:sli_error:ratio_rate1h", 0.02)]}}}
    slo = {"name": "s", "errorBudget": 0.01, "grouping": ["route"], "alerts": []}
    rows = _recorded.with_budgets(slo, got)["budgets"]
    assert [r["labels"] for r in rows] == [{"route": "/a"}, {"route": "/b"}]
    assert [r["errorBudget"]["remainingRatio"] for r in rows] == [0.5, 0.2]
    assert rows[0]["burnRates"] == [{"window": "1h", "burnRate": 2.0}] and rows[1]["burnRates"] == []
    assert _recorded.with_budgets({**slo, "name": "other"}, got)["budgets"][0]["status"] == "no data"
