"""The SRE workbook's worked examples, replayed on simulated time against generated rules."""

from pathlib import Path

import numpy as np
import pytest

from sloguard.slo.loader import load_text
from sloguard.slo.testing import SimWorld

H, M, S = 3_600_000, 60_000, 1_000
T0 = 1_700_000_000_000  # outage / error start, aligned to the evaluation grid below
SPEC = """
apiVersion: sloguard/v1
service: api
slos:
  - name: api-availability
    objective: 99.9
    sli: {ratio: {bad: 'requests_total{job="api",code="500"}', total: 'requests_total{job="api"}'}}
    alerting: {no_data: false}
"""


@pytest.fixture
def world(tmp_path: Path):  # type: ignore[no-untyped-def]
    slos, problems = load_text(SPEC, "spec.yml")
    assert problems == []
    w = SimWorld(tmp_path, slos[0])
    yield w
    w.close()


def _window(start: int, end: int, inside: float, outside: float = 0.0):  # type: ignore[no-untyped-def]
    return lambda ts: np.where((ts > start) & (ts <= end), inside, outside)


def test_total_outage_pages_once_0_864_minutes_of_errors_are_in_the_hour(world: SimWorld) -> None:
    world.write_traffic(T0 - 2 * H, T0 + 15 * M, 15 * S, 10, _window(T0, T0 + 15 * M, 1.0))
    world.run(T0 - 10 * M, T0 + 5 * M)
    fired = world.first("page", "firing")
    assert fired is not None, world.transitions
    # 14.4 x 0.1% x 60 min = 0.864 min of errors; allow one evaluation interval + one scrape
    assert T0 + 0.864 * M <= fired <= T0 + 0.864 * M + 1 * M + 15 * S
    # the ticket for the same SLO stays quiet while the page fires
    assert world.first("ticket", "firing") is None


def test_five_minute_outage_pages_then_resets_within_the_short_window(world: SimWorld) -> None:
    world.write_traffic(T0 - 2 * H, T0 + 60 * M, 15 * S, 10, _window(T0, T0 + 5 * M, 1.0))
    world.run(T0 - 5 * M, T0 + 45 * M)
    fired = world.first("page", "firing")
    assert fired is not None and fired <= T0 + 2 * M
    resolved = next(t.t_ms for t in world.transitions if t.tier == "page" and t.state == "inactive" and t.t_ms > fired)
    # the 6h/30m pair holds longest: the page resets once the outage leaves the 30m window
    assert T0 + 5 * M < resolved <= T0 + 5 * M + 30 * M + 1 * M
    assert [t.state for t in world.transitions if t.tier == "page"] == ["firing", "inactive"]


def test_steady_2x_burn_never_pages_and_opens_only_the_1x_ticket(tmp_path: Path) -> None:
    slos, _ = load_text(SPEC, "spec.yml")
    w = SimWorld(tmp_path, slos[0], interval_ms=5 * M)
    try:
        # half a clean day, then a steady 0.2% error rate (2x the 0.1% budget rate)
        w.write_traffic(T0 - 12 * H, T0 + 16 * H, 1 * M, 10, _window(T0, T0 + 16 * H, 0.002))
        w.run(T0 - 12 * H, T0 + 15 * H)
    finally:
        w.close()
    assert w.first("page", "firing") is None
    fired = w.first("ticket", "firing")
    assert fired is not None, w.transitions
    # 1x tier: the 6h window passes 0.1% after 3h; the 3d window (12 clean hours, then
    # 0.2%) only once errors have run as long as the clean stretch did. The 3x tier
    # (1d/2h over 0.3%) never holds, so nothing fires earlier.
    assert T0 + 12 * H - 10 * M <= fired <= T0 + 12 * H + 15 * M
    assert [t.state for t in w.transitions if t.tier == "ticket"] == ["firing"]
