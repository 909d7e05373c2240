"""Faults between replicas and PostgreSQL: a network split (one replica's database traffic
dropped by a proxy) and PostgreSQL restarting. The cut-off replica stops evaluating
before its leases expire, its groups move, no slot is evaluated twice, nothing crashes,
and the logs say what happened."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from tests.cluster._capture import BlockableProxy
from tests.cluster._replicas import Replica, union, wait_for, write_config
from tests.state._pg import PgCluster

GROUPS, INTERVAL_MS = 60, 2_000


def holders(r: Replica) -> dict[str, int]:
    return {x["name"]: x["groups"] for x in r.cluster()["replicas"]}


def last_written(r: Replica, window_s: int = 60) -> int:
    """The newest timestamp this replica wrote for any group (ms)."""
    got = r.samples(time.time(), window_s)
    return max((t for series in got.values() for t in series), default=0)


@pytest.mark.timeout(100)
def test_a_split_replica_stops_evaluating_and_a_database_restart_is_survived(
        pg_cluster: PgCluster, tmp_path: Path) -> None:
    url = pg_cluster.empty_database()
    proxy = BlockableProxy(pg_cluster.port)
    split_url = make_url(url).set(port=proxy.port).render_as_string(hide_password=False)
    cfg = write_config(tmp_path, url, GROUPS, "2s", "300ms", "1200ms")
    a, b = Replica("a", cfg, tmp_path / "a"), Replica("b", cfg, tmp_path / "b", state_url=split_url)
    try:
        for r in (a, b):
            r.start()
        for r in (a, b):
            r.wait_ready()
        wait_for(lambda: set(holders(a)) == {"a", "b"} and min(holders(a).values()) > 0, 20, "both sharing")
        proxy.block()
        blocked_at = time.time()
        wait_for(lambda: holders(a) == {"a": GROUPS}, 15, "a holding every group")  # b's leases expired
        took_over = time.time() - blocked_at
        time.sleep(2)
        assert b.alive and a.alive
        # b stopped before its leases could expire: nothing written after block + ttl
        assert last_written(b) <= (blocked_at + 1.2) * 1000, (last_written(b) / 1000, blocked_at)
        assert took_over < 1.2 + 0.3 + 2.5, took_over
        proxy.unblock()
        wait_for(lambda: holders(a).get("b", 0) > 0, 20, "b taking its share back")
        assert "cannot reach the state database" in b.log.read_text()
        # b's leases are in the database before its round ends and logs the reconnection
        wait_for(lambda: "reachable again" in b.log.read_text(), 10, "b logging the database reachable again")

        pg_cluster.stop()
        stopped_at = time.time()
        time.sleep(2)
        pg_cluster.start()
        wait_for(lambda: set(holders(a)) == {"a", "b"} and not a.cluster()["unheld"], 30, "both sharing again")
        back = time.time()

        def evaluated_again() -> bool:  # every group, by one replica or the other
            got = union({r.name: r.samples(time.time(), 10) for r in (a, b)})
            return len(got.values) == GROUPS and all(max(s) > back * 1000 for s in got.values.values())

        wait_for(evaluated_again, 10, "every group evaluated after the restart")
        assert a.alive and b.alive
        for r, outages in ((a, 1), (b, 2)):  # b: the split, then the restart; each said and undone
            text = r.log.read_text()
            assert text.count("cluster: cannot reach the state database") >= outages, r.tail()
            assert text.count("state database is reachable again") >= outages, r.tail()
        u = union({r.name: r.samples(time.time(), 90) for r in (a, b)})
        assert u.conflicts() == []
        assert u.doubles(0, int(time.time() * 1000)) == 0
        assert stopped_at < back
    finally:
        for r in (a, b):
            r.stop()
        proxy.close()
    for r in (a, b):  # the alerting pipeline logs its failed heartbeats with a traceback; nothing else may
        text = r.log.read_text(errors="replace")
        assert "coordination round failed" not in text and "never retrieved" not in text, r.tail()
