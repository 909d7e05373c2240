"""Counters of the remote-write receiver, for sloguard's own ``/metrics``.

``ReceiverStats`` counts requests by the HTTP status answered and samples by what became
of them. It is shared by the write endpoint (which counts) and the metrics collector
(which reads a snapshot at scrape time); both may run on different threads.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum

from sloguard.tsdb import AppendResult, RejectReason

__all__ = ["ReceiverStats", "SampleResult"]


class SampleResult(Enum):
    """What became of a received sample (the ``result`` label)."""

    STORED = "stored"
    REFUSED = "refused"  # by the TSDB: out of order, duplicate, out of bounds, series limits
    INVALID_LABELS = "invalid_labels"
    HISTOGRAM_DROPPED = "histogram_dropped"  # native histograms are not supported
    EXEMPLAR_DROPPED = "exemplar_dropped"  # exemplars are not supported


@dataclass(slots=True, eq=False)
class ReceiverStats:
    """Requests by HTTP status code and samples by ``SampleResult`` since start.

    Samples of a request refused as a whole (malformed body, 413, 415) are not counted:
    they were never decoded.
    """

    requests: Counter[int] = field(default_factory=Counter)
    samples: Counter[SampleResult] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count_request(self, code: int) -> None:
        with self._lock:
            self.requests[code] += 1

    def count_samples(self, result: AppendResult, histograms: int = 0, exemplars: int = 0) -> None:
        """Count one request's outcome (``result`` of ``apply``) and what was dropped."""
        invalid = result.rejected.get(RejectReason.INVALID_LABELS, 0)
        with self._lock:
            s = self.samples
            s[SampleResult.STORED] += result.appended
            s[SampleResult.REFUSED] += result.rejected_total - invalid
            s[SampleResult.INVALID_LABELS] += invalid
            s[SampleResult.HISTOGRAM_DROPPED] += histograms
            s[SampleResult.EXEMPLAR_DROPPED] += exemplars

    def snapshot(self) -> tuple[dict[int, int], dict[SampleResult, int]]:
        """(requests by code, samples by result, every result present)."""
        with self._lock:
            return dict(self.requests), {r: self.samples[r] for r in SampleResult}
