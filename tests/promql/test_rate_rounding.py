"""rate() rounds like Prometheus 2.42: one factor (interval / sampled / range seconds)
multiplied into the increase. The expected bits were printed by the real promtool 2.42."""

import numpy as np

from sloguard.labels import Labels
from sloguard.promql.engine import PromQLEngine
from sloguard.tsdb.testing import MemoryStorage


def test_rate_last_bit_matches_prometheus() -> None:
    st = MemoryStorage()
    st.add(Labels.of(name__="x", a="b"), np.arange(11) * 60_000, np.cumsum(np.full(11, 1.8)))
    v = PromQLEngine(st).instant_query("rate(x[5m])", 300_000).value
    assert [s.v for s in v] == [0.030000000000000002]  # promtool: 3.0000000000000002E-02
