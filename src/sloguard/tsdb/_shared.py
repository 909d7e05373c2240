"""Selects shared by the queries of one rule group evaluation.

A group evaluates every rule at the same timestamp, and SLO rule groups select the same
series over several windows (``x[5m]`` ... ``x[6h]``) and the same recorded series in
several alerts. ``SharedSelects`` reads each selector once, over the widest window the
group asked for on its previous evaluation, and answers narrower selects with that batch:
readers (instant and range selectors) search their own window within a batch, so a wider
batch gives the same results. Entries of metrics the group itself writes are dropped when
its outputs are committed (``invalidate``), and the inner querier, which reads one snapshot,
is renewed then, so a later rule still sees an earlier one's output (Prometheus runs each
rule as its own query). Samples that other writers commit during the evaluation may be
missed by later rules, as with any snapshot; Prometheus' rules race with them the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from sloguard.labels import Labels, Matcher, MatchType
from sloguard.tsdb._types import Querier, SeriesBatch

SelectKey = tuple[Matcher, ...]


@runtime_checkable
class Renewable(Protocol):
    """A querier that reads one snapshot and can give one of a later moment."""

    def renewed(self) -> Querier: ...


@dataclass(frozen=True, slots=True)
class _Entry:
    mint: int
    batch: SeriesBatch
    name: str | None  # the metric name all its series have, None if any


class SharedSelects:
    """A ``Querier`` over ``inner`` for one evaluation; ``spans`` (select key -> widest
    ``maxt - mint``) carries what the group selected from one evaluation to the next."""

    def __init__(self, inner: Querier, spans: dict[SelectKey, int]) -> None:
        self._inner = inner
        self._spans = spans
        self._entries: dict[tuple[SelectKey, int], _Entry] = {}  # by (selector, maxt)
        self._renew = False  # renew the inner querier before its next read

    def select(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> SeriesBatch:
        key = tuple(matchers)
        hit = self._entries.get((key, maxt))
        if hit is not None and hit.mint <= mint:
            return hit.batch
        span = max(self._spans.get(key, 0), maxt - mint)
        self._spans[key] = span
        batch = self._querier().select(matchers, maxt - span, maxt)
        self._entries[(key, maxt)] = _Entry(maxt - span, batch, _metric_name(matchers))
        return batch

    def _querier(self) -> Querier:
        if self._renew and isinstance(self._inner, Renewable):
            self._inner, self._renew = self._inner.renewed(), False
        return self._inner

    def invalidate(self, names: Iterable[str]) -> None:
        """Forget selects that may see series of these metrics (being written: the next
        read renews the snapshot the inner querier reads, to see them)."""
        gone = set(names)
        if gone:
            self._renew = True
            self._entries = {k: e for k, e in self._entries.items() if e.name is not None and e.name not in gone}

    def series(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[Labels]:
        return self._querier().series(matchers, mint, maxt)

    def estimate_series(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> int:
        """The inner querier's estimate (the query engine sizes its work by it)."""
        estimate = getattr(self._inner, "estimate_series", None)
        if estimate is None:
            return len(self._inner.series(matchers, mint, maxt))
        return int(estimate(matchers, mint, maxt))

    def samples_bound(self, mint: int, maxt: int) -> int:
        """The inner querier's bound over the widest window any select here may read
        (-1: the inner querier has none)."""
        bound = getattr(self._querier(), "samples_bound", None)
        widest = max(self._spans.values(), default=0)
        return -1 if bound is None else int(bound(min(mint, maxt - widest), maxt))

    def estimate_samples(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> int:
        """What ``select`` would newly load: 0 when an earlier select of this evaluation
        answers it, else the inner querier's estimate over the window it would read
        (-1: the inner querier cannot tell)."""
        key = tuple(matchers)
        hit = self._entries.get((key, maxt))
        if hit is not None and hit.mint <= mint:
            return 0
        estimate = getattr(self._querier(), "estimate_samples", None)
        if estimate is None:
            return -1
        span = max(self._spans.get(key, 0), maxt - mint)
        return int(estimate(matchers, maxt - span, maxt))

    def label_names(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[str]:
        return self._querier().label_names(matchers, mint, maxt)

    def label_values(self, name: str, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[str]:
        return self._querier().label_values(name, matchers, mint, maxt)


def _metric_name(matchers: Sequence[Matcher]) -> str | None:
    return next((m.value for m in matchers if m.name == "__name__" and m.type is MatchType.EQUAL), None)
