"""``/metrics`` for the query side: reads, retries and failures per backend, and the ruler's
write-back syncs (``sloguard_remote_read_*``, ``sloguard_ruler_*``)."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from sloguard.remote._ruler import RuleQuery
from sloguard.remote.queryable import RemoteEngine


class RemoteReadCollector(Collector):
    """Reads the counters of ``engine`` (and of the rules' ``query``, in ruler mode) at scrape time."""

    def __init__(self, engine: RemoteEngine, query: RuleQuery | None = None) -> None:
        self.engine, self.query = engine, query

    def collect(self) -> Iterator[Metric]:
        c, url = self.engine.client, self.engine.backend.url
        for name, help_, value in (
            ("sloguard_remote_read_requests", "Reads asked of the query backend.", c.reads_total),
            ("sloguard_remote_read_retries", "Attempts repeated after a 5xx, 429 or connection error.", c.retries_total),
            ("sloguard_remote_read_failures", "Reads that failed after their retries.", c.failures_total),
        ):
            fam = CounterMetricFamily(name, help_, labels=["url"])
            fam.add_metric([url], value)
            yield fam
        if self.query is not None:
            yield CounterMetricFamily("sloguard_ruler_write_sync_failures",
                                      "Waits for the remote-write queues that timed out before a rule read.",
                                      value=self.query.sync_failures)
