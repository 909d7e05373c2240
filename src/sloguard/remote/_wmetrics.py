"""Remote write on ``/metrics``, under Prometheus' own metric names.

Per queue (labels ``remote_name`` and ``url``): ``prometheus_remote_storage_samples_total``
(sent and acknowledged), ``_samples_failed_total`` (not recoverable, dropped),
``_samples_retried_total``, ``_samples_dropped_total`` (dropped by ``write_relabel_configs``
or of unknown series), ``_samples_pending``, ``_bytes_total``, ``_shards``, ``_shards_min``,
``_shards_max``, ``_shards_desired``, ``_shard_capacity``, ``_sent_batch_duration_seconds``,
``_metadata_total``/``_failed_total``/``_retried_total``,
``prometheus_remote_storage_queue_highest_sent_timestamp_seconds``; for all queues:
``prometheus_remote_storage_highest_timestamp_in_seconds`` and ``_samples_in_total``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import Collector

_P = "prometheus_remote_storage_"


@dataclass(slots=True)
class QueueMetrics:
    """One queue's counters and gauges (plain numbers, read at scrape time)."""

    samples_total: int = 0
    samples_failed_total: int = 0
    samples_retried_total: int = 0
    samples_dropped_total: int = 0
    samples_in_total: int = 0
    bytes_total: int = 0
    sent_batches: int = 0
    sent_batch_seconds: float = 0.0
    metadata_total: int = 0
    metadata_failed_total: int = 0
    metadata_retried_total: int = 0
    samples_pending: int = 0
    shards: int = 0
    shards_desired: float = 0.0
    highest_in_s: float = 0.0
    highest_sent_s: float = 0.0
    positions_stored: int = 0


_COUNTERS = (
    ("samples", "Samples sent to remote storage and acknowledged.", "samples_total"),
    ("samples_failed", "Samples which failed on send to remote storage, non-recoverable errors.",
     "samples_failed_total"),
    ("samples_retried", "Samples which failed on send to remote storage but were retried (recoverable errors).",
     "samples_retried_total"),
    ("samples_dropped", "Samples dropped after being read from the WAL: by write_relabel_configs, "
     "or of an unknown series.", "samples_dropped_total"),
    ("bytes", "Compressed bytes of samples sent.", "bytes_total"),
    ("metadata", "Metadata entries sent to remote storage.", "metadata_total"),
    ("metadata_failed", "Metadata entries which failed on send, non-recoverable errors.", "metadata_failed_total"),
    ("metadata_retried", "Metadata entries retried after recoverable errors.", "metadata_retried_total"),
)


class QueueView(Protocol):
    """What the collector reads of a queue."""

    name: str
    url: str
    metrics: QueueMetrics
    min_shards: int
    max_shards: int
    capacity: int


class RemoteWriteCollector(Collector):
    """Reads every queue returned by ``queues()`` at scrape time."""

    def __init__(self, queues: Callable[[], Iterable[QueueView]]) -> None:
        self._queues = queues

    def collect(self) -> Iterator[Metric]:
        qs = list(self._queues())
        labels = ["remote_name", "url"]
        for suffix, help_, attr in _COUNTERS:
            fam = CounterMetricFamily(_P + suffix, help_, labels=labels)
            for q in qs:
                fam.add_metric([q.name, q.url], getattr(q.metrics, attr))
            yield fam
        yield from self._gauges(qs, labels)
        dur = SummaryMetricFamily(_P + "sent_batch_duration_seconds", "Duration of send calls to remote storage.",
                                  labels=labels)
        for q in qs:
            dur.add_metric([q.name, q.url], q.metrics.sent_batches, q.metrics.sent_batch_seconds)
        yield dur
        yield GaugeMetricFamily(_P + "highest_timestamp_in_seconds",
                                "Highest timestamp read from the WAL by any queue, in seconds since the epoch.",
                                value=max((q.metrics.highest_in_s for q in qs), default=0.0))
        yield CounterMetricFamily(_P + "samples_in", "Samples read from the WAL by the queues.",
                                  value=sum(q.metrics.samples_in_total for q in qs))

    def _gauges(self, qs: list[QueueView], labels: list[str]) -> Iterator[Metric]:
        gauges: tuple[tuple[str, str, Callable[[QueueView], float]], ...] = (
            ("samples_pending", "Samples read from the WAL and not yet acknowledged.",
             lambda q: q.metrics.samples_pending),
            ("shards", "Shards (concurrent senders) running.", lambda q: q.metrics.shards),
            ("shards_min", "min_shards of the queue.", lambda q: q.min_shards),
            ("shards_max", "max_shards of the queue.", lambda q: q.max_shards),
            ("shards_desired", "Shards the desired-shards calculation asked for.", lambda q: q.metrics.shards_desired),
            ("shard_capacity", "Capacity of each shard, in samples.", lambda q: q.capacity),
            ("queue_highest_sent_timestamp_seconds", "Newest timestamp acknowledged by the remote, "
             "in seconds since the epoch.", lambda q: q.metrics.highest_sent_s),
        )
        for suffix, help_, get in gauges:
            fam = GaugeMetricFamily(_P + suffix, help_, labels=labels)
            for q in qs:
                fam.add_metric([q.name, q.url], get(q))
            yield fam
