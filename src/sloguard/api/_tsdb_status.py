"""``GET /api/v1/status/tsdb``: head cardinality statistics in Prometheus' shape.

Like Prometheus (``MemPostings.Stats``), over the series in the head: the top 10 metric
names by series count, label names by distinct values, label names by the bytes of their distinct values, and label
pairs by series count.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sloguard.api._context import ServerContext
from sloguard.api._http import api_endpoint, success
from sloguard.api._metadata import open_querier
from sloguard.labels import Labels, Matcher, MatchType

TOP_N = 10
_INT64_MAX = 2**63 - 1
_INT64_MIN = -(2**63)
_ALL_SERIES = [Matcher(MatchType.REGEX, "__name__", ".+")]


def _top(counts: Counter[str]) -> list[dict[str, Any]]:
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_N]
    return [{"name": name, "value": n} for name, n in ranked]


def cardinality(series: list[Labels]) -> dict[str, Any]:
    """The four top-10 lists and the label pair count for ``series``."""
    pairs: Counter[tuple[str, str]] = Counter(pair for ls in series for pair in ls)
    by_metric: Counter[str] = Counter()
    values_per_name: Counter[str] = Counter()
    bytes_per_name: Counter[str] = Counter()
    by_pair: Counter[str] = Counter()
    for (name, value), n in pairs.items():
        if name == "__name__":
            by_metric[value] = n
        values_per_name[name] += 1
        bytes_per_name[name] += len(value.encode())
        by_pair[f"{name}={value}"] = n
    return {
        "numLabelPairs": len(pairs),
        "seriesCountByMetricName": _top(by_metric),
        "labelValueCountByLabelName": _top(values_per_name),
        "memoryInBytesByLabelName": _top(bytes_per_name),
        "seriesCountByLabelValuePair": _top(by_pair),
    }


def tsdb_status(ctx: ServerContext) -> dict[str, Any]:
    stats_fn = getattr(ctx.storage, "stats", None)
    stats = stats_fn() if callable(stats_fn) else None
    mint = getattr(stats, "head_min_time", None)
    maxt = getattr(stats, "head_max_time", None)
    with open_querier(ctx) as q:
        series = q.series(_ALL_SERIES, _INT64_MIN if mint is None else mint, _INT64_MAX if maxt is None else maxt)
    card = cardinality(series)
    head = {
        "numSeries": len(series),
        "numLabelPairs": card.pop("numLabelPairs"),
        "chunkCount": int(getattr(stats, "head_chunks", 0) or 0),
        "minTime": _INT64_MAX if mint is None or not series else mint,
        "maxTime": _INT64_MIN if maxt is None or not series else maxt,
    }
    return {"headStats": head, **card, "integrity": integrity(stats)}


def integrity(stats: Any) -> dict[str, Any]:
    """sloguard's addition (Prometheus has no such section): what WAL replay lost and
    which blocks were quarantined; the Prometheus fields above are unchanged."""
    return {
        "walCorruptions": int(getattr(stats, "wal_corruptions_total", 0) or 0),
        "walReplayRecordsLost": int(getattr(stats, "wal_replay_records_lost", 0) or 0),
        "walReplaySamplesLost": int(getattr(stats, "wal_replay_samples_lost", 0) or 0),
        "quarantinedBlocks": [
            {"ulid": q.ulid, "path": q.path, "reason": q.reason} for q in getattr(stats, "quarantined_blocks", ())
        ],
    }


def routes(ctx: ServerContext) -> list[BaseRoute]:
    @api_endpoint
    async def status_tsdb(request: Request) -> Response:
        return success(await run_in_threadpool(tsdb_status, ctx))

    return [Route("/api/v1/status/tsdb", status_tsdb, methods=["GET"])]
