"""sloguard's own metrics: a prometheus-client registry fed by the server's components.

The storage and the scrape manager are read at scrape time by custom collectors (no
counters are duplicated); the HTTP middleware keeps its own counters. Each app gets its
own registry, so several apps (tests) never share state.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sloguard import __version__
from sloguard.api._context import ServerContext
from sloguard.tsdb import RejectReason

__all__ = ["HTTPMetrics", "build_registry"]


def _field(obj: Any, name: str, default: Any = 0) -> Any:
    value = getattr(obj, name, default)
    return default if value is None else value


class StorageCollector(Collector):
    """``sloguard_tsdb_*`` from ``storage.stats()`` (the TSDB's ``TSDBStats``)."""

    def __init__(self, ctx: ServerContext) -> None:
        self._ctx = ctx

    def collect(self) -> Iterator[Metric]:
        stats_fn = getattr(self._ctx.storage, "stats", None)
        if not callable(stats_fn):
            return
        st = stats_fn()
        for name, help_, attr in _GAUGES:
            yield GaugeMetricFamily(name, help_, value=_field(st, attr))
        for name, help_, attr in _COUNTERS:
            yield CounterMetricFamily(name, help_, value=_field(st, attr))
        rej = CounterMetricFamily(
            "sloguard_tsdb_samples_rejected", "Samples refused, by reason.", labels=["reason"]
        )
        rejected = dict(_field(st, "samples_rejected", default={}))
        for reason in RejectReason:
            rej.add_metric([reason.value], rejected.get(reason, 0))
        yield rej
        yield SummaryMetricFamily(
            "sloguard_tsdb_wal_fsync_duration_seconds", "Time spent in WAL fsync.",
            count_value=_field(st, "wal_fsyncs_total"), sum_value=_field(st, "wal_fsync_seconds_total"),
        )
        yield SummaryMetricFamily(
            "sloguard_tsdb_compaction_duration_seconds", "Time spent cutting and compacting blocks.",
            count_value=_field(st, "compactions_total"), sum_value=_field(st, "compaction_seconds_total"),
        )


_GAUGES = (
    ("sloguard_tsdb_head_series", "Series in the head.", "head_series"),
    ("sloguard_tsdb_head_samples", "Samples in the head.", "head_samples"),
    ("sloguard_tsdb_wal_bytes", "Size of the write-ahead log on disk.", "wal_bytes"),
    ("sloguard_tsdb_wal_segments", "WAL segment files on disk.", "wal_segments"),
    ("sloguard_tsdb_blocks", "Persisted blocks loaded.", "blocks"),
    ("sloguard_tsdb_blocks_bytes", "Size of the persisted blocks on disk.", "block_bytes"),
    ("sloguard_tsdb_storage_bytes", "Bytes the TSDB uses on disk (blocks and WAL).", "bytes_on_disk"),
    ("sloguard_tsdb_bytes_per_sample", "On-disk bytes per sample in blocks.", "bytes_per_sample"),
    ("sloguard_tsdb_blocks_quarantined", "Blocks moved to quarantine as damaged since start (not served).",
     "blocks_quarantined"),
)
_COUNTERS = (
    ("sloguard_tsdb_samples_appended", "Samples stored by commits.", "samples_appended_total"),
    ("sloguard_tsdb_series_created", "Series created in the head.", "series_created_total"),
    ("sloguard_tsdb_series_rejected_by_limit", "New series refused by a cardinality limit.", "series_rejected_by_limit"),
    ("sloguard_tsdb_retention_deleted_blocks", "Blocks deleted by retention.", "retention_deleted_blocks_total"),
    ("sloguard_tsdb_wal_corruptions", "Damaged WAL files found and repaired by replay.", "wal_corruptions_total"),
    ("sloguard_tsdb_wal_replay_records_lost", "WAL records lost to damage at the last replay.", "wal_replay_records_lost"),
    ("sloguard_tsdb_wal_replay_samples_lost", "Samples known lost to WAL damage at the last replay.",
     "wal_replay_samples_lost"),
)


class ScrapeCollector(Collector):
    """``sloguard_scrapes_total{job,result}`` and ``sloguard_scrape_targets{job,health}``."""

    def __init__(self, ctx: ServerContext) -> None:
        self._ctx = ctx

    def collect(self) -> Iterator[Metric]:
        mgr = self._ctx.scrape_manager
        if mgr is None:
            return
        scrapes = CounterMetricFamily(
            "sloguard_scrapes", "Scrapes finished, by job and result (success/failure).", labels=["job", "result"]
        )
        counts = getattr(mgr, "scrape_counts", None)
        for (job, result), n in sorted((counts() if callable(counts) else {}).items()):
            scrapes.add_metric([job, result], n)
        yield scrapes


class RemoteWriteCollector(Collector):
    """``sloguard_remote_write_requests_total{code}`` and
    ``sloguard_remote_write_samples_total{result}`` from the receiver's counters."""

    def __init__(self, ctx: ServerContext) -> None:
        self._ctx = ctx

    def collect(self) -> Iterator[Metric]:
        by_code, by_result = self._ctx.remote_write_stats.snapshot()
        requests = CounterMetricFamily(
            "sloguard_remote_write_requests", "Remote-write requests answered, by HTTP status code.", labels=["code"]
        )
        for code, n in sorted(by_code.items()):
            requests.add_metric([str(code)], n)
        yield requests
        samples = CounterMetricFamily(
            "sloguard_remote_write_samples",
            "Remote-write samples received, by result (stored, refused by the TSDB, invalid labels, "
            "dropped native histograms and exemplars).",
            labels=["result"],
        )
        for result, n in by_result.items():
            samples.add_metric([result.value], n)
        yield samples


class HTTPMetrics:
    """ASGI middleware counting requests by handler (route path) and status code."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        self.requests = Counter(
            "sloguard_http_requests", "HTTP requests served.", ["handler", "code"], registry=registry
        )
        self.duration = Histogram(
            "sloguard_http_request_duration_seconds", "HTTP request latency.", ["handler"], registry=registry
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            handler = getattr(route, "path", None) or "other"
            self.requests.labels(handler, str(status[0])).inc()
            self.duration.labels(handler).observe(time.perf_counter() - started)


class ServerCollector(Collector):
    """Reload outcome (Prometheus' ``prometheus_config_last_reload_*``) and connections the
    edge closed (over ``--web.max-connections``, or too slow sending a request)."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx

    def collect(self) -> Iterator[Metric]:
        s = self.ctx.settings
        yield GaugeMetricFamily("sloguard_config_last_reload_successful",
                                "Whether the last configuration reload attempt was successful.",
                                value=1 if s.get("reload_config_success", True) else 0)
        last = s.get("last_config_time")
        yield GaugeMetricFamily("sloguard_config_last_reload_success_timestamp_seconds",
                                "Timestamp of the last successful configuration reload.",
                                value=last.timestamp() if last is not None else self.ctx.start_time)
        edge = self.ctx.edge_stats
        yield CounterMetricFamily("sloguard_http_connections_rejected",
                                  "New connections closed at once: --web.max-connections were all busy.",
                                  value=_field(edge, "rejected"))
        yield CounterMetricFamily("sloguard_http_connections_evicted",
                                  "Connections not working on a request closed to make room at --web.max-connections.",
                                  value=_field(edge, "evicted"))
        yield CounterMetricFamily("sloguard_http_connections_timed_out",
                                  "Connections closed because a request was not read within its deadline.",
                                  value=_field(edge, "timed_out"))


def build_registry(ctx: ServerContext) -> CollectorRegistry:
    """A fresh registry with process/platform/GC metrics and sloguard's collectors."""
    disable_created_metrics()  # type: ignore[no-untyped-call]  # Prometheus' own metrics have no *_created series
    reg = CollectorRegistry(auto_describe=False)
    ProcessCollector(registry=reg)
    PlatformCollector(registry=reg)
    GCCollector(registry=reg)
    reg.register(StorageCollector(ctx))
    reg.register(ScrapeCollector(ctx))
    reg.register(RemoteWriteCollector(ctx))
    reg.register(ServerCollector(ctx))
    info = GaugeMetricFamily("sloguard_build_info", "sloguard version.", labels=["version"])
    info.add_metric([__version__], 1)

    class _Info(Collector):
        def collect(self) -> Iterator[Metric]:
            yield info

    reg.register(_Info())
    return reg
