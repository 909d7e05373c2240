"""Per-version RED metrics of the built-in proxy, aggregated in memory and appended to a
sink (the embedded TSDB's ``Storage``, or a fake) every few seconds, never per request.

Series: ``http_requests_total{service,version,code}`` and the histogram
``http_request_duration_seconds_bucket{service,version,le}`` with ``_sum`` and ``_count``,
all cumulative since the proxy started (Prometheus counter semantics).
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Protocol

from sloguard.labels import Labels

DEFAULT_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0,
)
"""Seconds; dense around the latency thresholds SLOs usually name (50 ms .. 1 s)."""


class SampleAppender(Protocol):
    """The part of ``sloguard.tsdb.Appender`` the proxy uses."""

    def append(self, labels: Labels, t: int, v: float) -> None: ...

    def commit(self) -> object: ...


class MetricSink(Protocol):
    """Gives an appender per flush; ``sloguard.tsdb.Storage`` is one."""

    def appender(self) -> SampleAppender: ...


def format_le(bound: float) -> str:
    """A bucket bound as Prometheus client libraries write ``le``: ``0.25``, ``1``, ``+Inf``."""
    if bound == float("inf"):
        return "+Inf"
    return str(int(bound)) if bound.is_integer() else repr(bound)


class _Histogram:
    __slots__ = ("counts", "total", "n")

    def __init__(self, size: int) -> None:
        self.counts = [0] * size
        self.total = 0.0
        self.n = 0


class RedMetrics:
    """Counts requests by (version, code) and durations by version. ``observe`` is the hot
    path (a dict update and a bisect); ``flush`` writes every series once."""

    def __init__(self, service: str, buckets: tuple[float, ...] = DEFAULT_BUCKETS) -> None:
        if list(buckets) != sorted(set(buckets)) or not buckets or buckets[0] <= 0:
            raise ValueError(f"histogram buckets {buckets!r} must be positive, distinct and increasing.")
        self.service = service
        self.buckets = buckets
        self._requests: dict[tuple[str, int], int] = {}
        self._hist: dict[str, _Histogram] = {}
        self._labels: dict[tuple[str, str, str], Labels] = {}

    def observe(self, version: str, code: int, seconds: float) -> None:
        key = (version, code)
        self._requests[key] = self._requests.get(key, 0) + 1
        h = self._hist.get(version)
        if h is None:
            h = self._hist[version] = _Histogram(len(self.buckets) + 1)
        h.counts[bisect_left(self.buckets, seconds)] += 1
        h.total += seconds
        h.n += 1

    def requests(self, version: str, code: int) -> int:
        return self._requests.get((version, code), 0)

    def flush(self, sink: MetricSink, now_ms: int) -> int:
        """Append every series at ``now_ms`` and commit; returns the number of samples."""
        app = sink.appender()
        n = 0
        for (version, code), count in list(self._requests.items()):
            app.append(self._series("http_requests_total", version, "code", str(code)), now_ms, count)
            n += 1
        for version, h in list(self._hist.items()):
            n += self._flush_histogram(app, version, h, now_ms)
        if n:
            app.commit()
        return n

    def _flush_histogram(self, app: SampleAppender, version: str, h: _Histogram, now_ms: int) -> int:
        name = "http_request_duration_seconds"
        running = 0
        for bound, c in zip((*self.buckets, float("inf")), h.counts, strict=True):
            running += c
            app.append(self._series(name + "_bucket", version, "le", format_le(bound)), now_ms, running)
        app.append(self._series(name + "_sum", version, "", ""), now_ms, h.total)
        app.append(self._series(name + "_count", version, "", ""), now_ms, h.n)
        return len(h.counts) + 2

    def _series(self, name: str, version: str, extra: str, value: str) -> Labels:
        key = (name, version, value if extra else "")
        labels = self._labels.get(key)
        if labels is None:
            pairs = {"__name__": name, "service": self.service, "version": version}
            if extra:
                pairs[extra] = value
            labels = self._labels[key] = Labels.from_dict(pairs)
        return labels
