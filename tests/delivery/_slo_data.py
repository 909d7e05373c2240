"""Real SLO specs and request counters in a real embedded TSDB, for the error-budget policy.

The counters have the names and labels the built-in proxy writes
(``http_requests_total{service, version, code}``), so the same SLOs judge generated data
and real proxied traffic.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sloguard.labels import Labels
from sloguard.promql.engine import PromQLEngine
from sloguard.slo.loader import load_text
from sloguard.slo.model import SLO
from sloguard.tsdb import TSDB, FsyncPolicy, TSDBOptions

S, M, H = 1_000, 60_000, 3_600_000

SPEC = """
apiVersion: sloguard/v1
service: checkout
slos:
  - name: checkout-availability
    objective: 99%
    period: 1d
    sli:
      ratio:
        bad: http_requests_total{service="checkout", code=~"5.."}
        total: http_requests_total{service="checkout"}
  - name: checkout-search-availability
    objective: 90%
    period: 1d
    sli:
      ratio:
        bad: http_requests_total{service="checkout", route="/search", code=~"5.."}
        total: http_requests_total{service="checkout", route="/search"}
---
apiVersion: sloguard/v1
service: cart
slos:
  - name: cart-availability
    objective: 99.9%
    period: 1d
    sli:
      ratio:
        bad: http_requests_total{service="cart", code=~"5.."}
        total: http_requests_total{service="cart"}
"""


def slos(text: str = SPEC) -> list[SLO]:
    """The SLOs of ``text``; the test fails on any problem of the spec."""
    found, problems = load_text(text, "slos.yml")
    assert [p for p in problems if p.is_error] == [], problems
    return found


class Traffic:
    """A real TSDB on disk with its query engine; ``write`` appends request counters."""

    def __init__(self, path: Path) -> None:
        self.db = TSDB.open(path / "tsdb", TSDBOptions(fsync=FsyncPolicy.NEVER, retention_ms=0))
        self.engine = PromQLEngine(self.db)
        self._totals: dict[Labels, float] = {}

    def write(self, service: str, start_ms: int, end_ms: int, rps: float, error_ratio: float,
              route: str = "/", step_ms: int = 15 * S, version: str = "v1") -> None:
        """Counters of ``rps`` requests a second from ``start_ms`` to ``end_ms``, a share
        ``error_ratio`` of them answered 500, continuing earlier counters of the same series."""
        ts = np.arange(start_ms, end_ms + 1, step_ms, dtype=np.int64)
        per_step = rps * step_ms / 1000
        app = self.db.appender()
        for code, share in (("200", 1 - error_ratio), ("500", error_ratio)):
            labels = Labels.of(name__="http_requests_total", service=service, version=version, code=code, route=route)
            base = self._totals.get(labels, 0.0)
            values = base + np.cumsum(np.full(len(ts), per_step * share))
            self._totals[labels] = float(values[-1])
            app.append_many(labels, ts, values)
        res = app.commit()
        assert not res.rejected_total, res.errors

    def close(self) -> None:
        self.db.close()
