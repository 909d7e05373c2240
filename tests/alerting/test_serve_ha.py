"""Two ``sloguard serve`` replicas on one PostgreSQL receive the same alerts (as Prometheus
sends to every Alertmanager of a cluster): every notification goes out exactly once, a
silence made on one mutes on both, and when the replica that sent is killed in the middle
of the incident the other carries on, with no duplicate and nothing lost."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.alerting._capture import CaptureServer
from tests.alerting._diff.target import Running, running, sloguard_target
from tests.alerting._served import CONFIG, firing, notifications, post_alerts, silence, wait_until
from tests.state._pg import PgCluster

pytestmark = pytest.mark.peer


def _claim_holders(url: str) -> set[str]:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as conn:
            return {str(h) for h in conn.execute(sa.text("SELECT holder FROM nflog_claims")).scalars()}
    finally:
        engine.dispose()


def _port(r: Running) -> str:
    return r.url.rsplit(":", 1)[1]


def test_two_replicas_notify_once_and_survive_the_sender(tmp_path: Path, pg_cluster: PgCluster) -> None:
    url = pg_cluster.empty_database()
    capture = CaptureServer()
    config = CONFIG.format(capture=capture.start())
    target = sloguard_target(url)
    with contextlib.ExitStack() as stack:
        stack.callback(capture.stop)
        a = stack.enter_context(running(target, config, tmp_path / "a"))
        b = stack.enter_context(running(target, config, tmp_path / "b"))
        both = (a, b)
        peers = httpx.get(f"{a.url}/api/v2/status", timeout=5.0).json()["cluster"]["peers"]
        assert sorted(p["address"] for p in peers) == sorted([a.url, b.url])

        silence(a.url, "alertname", "Quiet")  # made on a, must mute on b too
        time.sleep(1.2)  # b reads silences at most a second old
        for r in both:
            post_alerts(r.url, {"alertname": "Down", "instance": "1"}, {"alertname": "Quiet", "instance": "1"})
        wait_until("the first notification", lambda: len(notifications(capture)) >= 1)
        time.sleep(3)  # both replicas have flushed that group at least once more
        assert [firing(n) for n in notifications(capture)] == [("Down", ("1",))]

        holders = _claim_holders(url)
        assert len(holders) == 1, holders  # one replica claimed the flush and sent it
        holder = holders.pop()  # a peer is named HOST:PORT by default
        sender = next(r for r in both if holder.endswith(f":{_port(r)}"))
        survivor = b if sender is a else a
        sender.proc.kill()  # SIGKILL in the middle of the incident
        sender.proc.wait()

        for r in both:  # Prometheus keeps sending to both; the dead one refuses the connection
            post_alerts(r.url, {"alertname": "Down", "instance": "1"}, {"alertname": "Down", "instance": "2"})
        wait_until("the survivor's notification", lambda: len(notifications(capture)) >= 2)
        time.sleep(3)
        assert [firing(n) for n in notifications(capture)] == [("Down", ("1",)), ("Down", ("1", "2"))]
        assert any(h.endswith(f":{_port(survivor)}") for h in _claim_holders(url))
