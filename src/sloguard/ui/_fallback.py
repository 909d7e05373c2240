"""Budgets computed on request for SLOs without a budget record, kept as long as a record is.

The overview computes the budget of an SLO whose rules have not recorded one yet with
``/api/v1/slos/{name}`` (about ten PromQL queries, 40-90 ms each on a thousand SLOs'
server). A recorded budget is refreshed every ``BUDGET_INTERVAL_MS`` (the budget group's
interval), so a computed one is reused for as long: each refresh of a live overview
would otherwise recompute the same budgets. An answer is kept per SLO and per spec (a
reloaded SLO with another objective is computed again); only successful answers are kept.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sloguard.clock import Clock, SystemClock
from sloguard.ui._api import ApiResult

#: The budget group's interval (``slo.rulegen``: every 5m): how long a recorded budget stands.
BUDGET_INTERVAL_MS = 300_000
#: Answers kept at most (the overview computes at most ``FALLBACK_MAX`` per load).
MAX_ENTRIES = 1000


@dataclass(slots=True)
class FallbackCache:
    """``/api/v1/slos/{name}`` answers by SLO spec, each for ``ttl_ms`` after it was computed."""

    clock: Clock = field(default_factory=SystemClock)
    ttl_ms: int = BUDGET_INTERVAL_MS
    _kept: dict[str, tuple[int, ApiResult]] = field(default_factory=dict)

    async def get(self, spec: Mapping[str, Any], compute: Callable[[], Awaitable[ApiResult]]) -> ApiResult:
        """The kept answer for ``spec`` if younger than the TTL, else ``compute()``'s (kept when ok)."""
        key = json.dumps(spec, sort_keys=True, default=str)
        now = self.clock.now_ms()
        kept = self._kept.get(key)
        if kept is not None and now - kept[0] < self.ttl_ms:
            return kept[1]
        got = await compute()
        if got.ok:
            self._evict(now)
            self._kept[key] = (now, got)
        return got

    def _evict(self, now: int) -> None:
        self._kept = {k: v for k, v in self._kept.items() if now - v[0] < self.ttl_ms}
        while len(self._kept) >= MAX_ENTRIES:
            del self._kept[next(iter(self._kept))]
