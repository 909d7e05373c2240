"""A ``tsdb.Querier`` over a backend's query API, for code that reads raw series (the
rules' ``ALERTS_FOR_STATE`` restore, the metadata API) when the data lives in the backend.

What sloguard wrote to the backend carries the ``external_labels`` remote write added;
``select`` hides them, as Prometheus' remote read does (``filter_external_labels``): each
external label not already matched becomes an equality matcher, and is dropped from the
series returned, so a series reads back with the labels it was written with."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sloguard.labels import Labels, Matcher, MatchType
from sloguard.promql import Series
from sloguard.remote.queryable import RemoteEngine
from sloguard.tsdb import SeriesBatch


def selector(matchers: Sequence[Matcher]) -> str:
    """``{a="b",c=~"d"}``: the matchers as a PromQL selector."""
    return "{" + ",".join(str(m) for m in matchers) + "}"


def _batch(series: list[Series], mint: int) -> SeriesBatch:
    kept = [(s.labels, s.timestamps[s.timestamps >= mint], s.values[s.timestamps >= mint]) for s in series]
    kept = [k for k in kept if len(k[1])]
    if not kept:
        return SeriesBatch.empty()
    counts = np.array([len(t) for _, t, _ in kept], np.int64)
    return SeriesBatch(
        labels=[ls for ls, _, _ in kept], offsets=np.concatenate(([0], np.cumsum(counts))).astype(np.int64),
        timestamps=np.concatenate([t for _, t, _ in kept]), values=np.concatenate([v for _, _, v in kept]),
    )


#: How far back a backend's instant selector looks (Prometheus' and VictoriaMetrics' default
#: 5m), less a margin: past it an instant query cannot tell a staleness marker from a gap.
STALENESS_HORIZON_MS = 4 * 60_000

_FAR_MS = 10**14  #: past year 5000: the API's "no bound" defaults, not sent on


def _bound(ms: int) -> int | None:
    return None if abs(ms) >= _FAR_MS else ms


class RemoteQuerier:
    """Reads ``[mint, maxt]`` through instant queries of a range selector at ``maxt``
    (the API's only way to read raw samples); the result is sorted by labels, as the
    TSDB's. Staleness markers are not returned by the API and so never appear here."""

    def __init__(self, engine: RemoteEngine, external_labels: Labels | None = None) -> None:
        self.engine = engine
        self.external_labels = external_labels or Labels()

    def select(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> SeriesBatch:
        span = max(maxt - mint + 1, 1)
        named = {m.name for m in matchers}
        added = [(k, v) for k, v in self.external_labels if k not in named]
        full = [*matchers, *(Matcher(MatchType.EQUAL, k, v) for k, v in added)]
        res = self.engine.instant_query(f"{selector(full)}[{span}ms]", maxt)
        series: list[Series] = res.value if isinstance(res.value, list) else []  # type: ignore[assignment]
        if added:
            drop = [k for k, _ in added]
            series = sorted((Series(s.labels.without(*drop), s.timestamps, s.values) for s in series),
                            key=lambda s: s.labels)
        return _batch(series, mint)

    def ended_stale(self, labels: Labels, last_ms: int, at_ms: int) -> bool:
        """Whether the series ``labels`` (as ``select`` returned it), whose last sample is at
        ``last_ms``, was ended by a staleness marker by ``at_ms``. The API never returns the
        markers, but an instant query stops finding a series after one, within the lookback:
        so the series is stale when the instant query at ``at_ms`` misses it. ``False`` when
        ``at_ms`` is too long after ``last_ms`` to tell (see ``STALENESS_HORIZON_MS``)."""
        if at_ms - last_ms > STALENESS_HORIZON_MS:
            return False
        matchers = [Matcher(MatchType.EQUAL, k, v) for k, v in labels]
        named = {k for k, _ in labels}
        added = [(k, v) for k, v in self.external_labels if k not in named]
        full = [*matchers, *(Matcher(MatchType.EQUAL, k, v) for k, v in added)]
        res = self.engine.instant_query(selector(full), at_ms)
        found = res.value if isinstance(res.value, list) else []
        drop = [k for k, _ in added]
        return not any(s.labels.without(*drop) == labels for s in found)

    def series(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[Labels]:
        return self.engine.series([selector(matchers)], _bound(mint), _bound(maxt))

    def label_names(self, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[str]:
        return sorted(self.engine.label_names([selector(matchers)] if matchers else [], _bound(mint), _bound(maxt)))

    def label_values(self, name: str, matchers: Sequence[Matcher], mint: int, maxt: int) -> list[str]:
        matched = [selector(matchers)] if matchers else []
        return sorted(self.engine.label_values(name, matched, _bound(mint), _bound(maxt)))
