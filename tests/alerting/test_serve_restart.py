"""SIGKILL of ``sloguard serve`` in the middle of an incident, on SQLite and on PostgreSQL:
after the restart, the alerts sent again (as Prometheus resends them) bring no duplicate
notification within repeat_interval, silences still apply, and the pipeline goes on
notifying what changed."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.alerting._capture import CaptureServer
from tests.alerting._diff.target import running, sloguard_target
from tests.alerting._served import CONFIG, firing, notifications, post_alerts, silence, wait_until
from tests.state._pg import PgCluster

pytestmark = pytest.mark.peer

DOWN_A = {"alertname": "Down", "instance": "a"}
DOWN_B = {"alertname": "Down", "instance": "b"}
QUIET = {"alertname": "Quiet", "instance": "a"}


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request: pytest.FixtureRequest) -> str | None:
    if request.param == "sqlite":
        return None  # the default: state.db in the data dir
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    return cluster.empty_database()


def test_sigkill_mid_incident_neither_repeats_nor_forgets(tmp_path: Path, state_url: str | None) -> None:
    capture = CaptureServer()
    config = CONFIG.format(capture=capture.start())
    target = sloguard_target(state_url)
    try:
        with running(target, config, tmp_path) as first:
            sid = silence(first.url, "alertname", "Quiet")
            post_alerts(first.url, DOWN_A, QUIET)
            wait_until("the first notification", lambda: len(notifications(capture)) >= 1)
            time.sleep(2.5)  # a group_interval more: nothing else is due
            assert [firing(n) for n in notifications(capture)] == [("Down", ("a",))]
            first.proc.kill()  # SIGKILL: no shutdown of any kind
            first.proc.wait()
        with running(target, config, tmp_path) as second:
            post_alerts(second.url, DOWN_A, QUIET)
            time.sleep(4.5)  # group_wait and two group_intervals after the alerts came back
            assert [firing(n) for n in notifications(capture)] == [("Down", ("a",))], "a duplicate after restart"
            silences = httpx.get(f"{second.url}/api/v2/silences", timeout=5.0).json()
            assert [(s["id"], s["status"]["state"]) for s in silences] == [(sid, "active")]
            post_alerts(second.url, DOWN_A, DOWN_B)
            wait_until("the changed group's notification", lambda: len(notifications(capture)) >= 2)
            assert [firing(n) for n in notifications(capture)] == [("Down", ("a",)), ("Down", ("a", "b"))]
    finally:
        capture.stop()
