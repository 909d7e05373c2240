"""``/api/v1/status/cluster``, the status page's Cluster section, the ``cluster:`` config
and the refusal to cluster on SQLite."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from sloguard.api import ServerContext, create_app
from sloguard.api._cluster import ClusterSetupError, check_cluster_config, shard_key_for
from sloguard.api._server import ServeError, ServeOptions, Server
from sloguard.clock import ManualClock
from sloguard.cluster import ClusterOptions, Coordinator, Source
from sloguard.cluster.testing import FakeClusterStore
from sloguard.config import ConfigError, parse_config
from sloguard.rules import Group, ManagerOptions
from sloguard.tsdb.testing import MemoryStorage


async def _direct(fn: Any, *args: Any) -> Any:
    return fn(*args)


def _two_replicas() -> Coordinator:
    clock = ManualClock(5_000_000)
    store = FakeClusterStore(clock.now_ms)
    keys = [f"rules/g{i}" for i in range(20)] + ["rollouts/checkout"]
    cs = [Coordinator(store, ClusterOptions(n, f"http://{n}:9090/", 1_000, 3_000), clock, run_db=_direct)  # type: ignore[arg-type]
          for n in ("a", "b")]
    for c in cs:
        c.add_source(Source("all", lambda: keys))

    async def rounds() -> None:
        for _ in range(2):
            for c in cs:
                await c.tick()

    asyncio.run(rounds())
    return cs[0]


def test_the_status_shows_replicas_their_shares_and_every_lease() -> None:
    c = _two_replicas()
    ctx = ServerContext(storage=MemoryStorage(), settings={"cluster": c})
    with TestClient(create_app(ctx)) as client:
        data = client.get("/api/v1/status/cluster").json()["data"]
        page = client.get("/status").text
    assert data["enabled"] and data["replica"] == "a" and data["keys"] == 21 and data["unheld"] == []
    by_name = {r["name"]: r for r in data["replicas"]}
    assert set(by_name) == {"a", "b"}
    assert sum(r["groups"] for r in by_name.values()) == 20 and sum(r["rollouts"] for r in by_name.values()) == 1
    assert all(r["heartbeatAgeSeconds"] == 0 and r["expiresInSeconds"] == 3 for r in by_name.values())
    assert len(data["leases"]) == 21 and {x["holder"] for x in data["leases"]} == {"a", "b"}
    assert by_name["a"]["groups"] == sum(1 for x in data["leases"] if x["holder"] == "a" and x["key"].startswith("rules/"))
    assert "Cluster" in page and "http://b:9090/" in page and "Leases (21)" in page


def test_a_single_replica_says_so() -> None:
    with TestClient(create_app(ServerContext(storage=MemoryStorage()))) as client:
        assert client.get("/api/v1/status/cluster").json()["data"]["enabled"] is False
        assert "runs as a single replica" in client.get("/status").text


def test_the_cluster_config_keys_and_their_check() -> None:
    c = parse_config("cluster: {enabled: true, replica_name: r1, heartbeat_interval: 500ms, lease_ttl: 3s}").cluster
    assert (c.enabled, c.replica_name, c.heartbeat_interval, c.lease_ttl) == (True, "r1", 500, 3_000)
    with pytest.raises(ConfigError, match="lease_ttl .* at least twice"):
        parse_config("cluster: {heartbeat_interval: 2s, lease_ttl: 3s}")
    with pytest.raises(ConfigError, match="cluster"):
        parse_config("cluster: {enabled: true, heartbeats: 2s}")


def test_clustering_on_sqlite_is_refused_with_the_reason() -> None:
    cfg = parse_config("cluster: {enabled: true}")
    with pytest.raises(ClusterSetupError, match="needs a PostgreSQL state store.*single replica"):
        check_cluster_config(cfg, None)
    with pytest.raises(ClusterSetupError, match="sqlite://"):
        check_cluster_config(cfg, "sqlite:///tmp/x.db")
    assert check_cluster_config(cfg, "postgresql://u@h:5432/db") == "postgresql://u@h:5432/db"


def test_the_server_refuses_to_start_clustered_on_sqlite(tmp_path: Path) -> None:
    options = ServeOptions(config_path=tmp_path / "x.yml", data_dir=tmp_path, port=0,
                           storage_opener=lambda d, s: MemoryStorage())
    server = Server(options, parse_config("cluster: {enabled: true}"))
    with pytest.raises(ServeError, match="cluster.enabled is true but the state store is the SQLite file"):
        asyncio.run(server.run())


def test_shard_keys_name_files_from_the_config_folder_and_slo_rules_by_group(tmp_path: Path) -> None:
    key = shard_key_for(tmp_path / "conf" / "sloguard.yml", tmp_path / "data1" / "generated" / "slo.rules.yml")
    other = shard_key_for(tmp_path / "conf" / "sloguard.yml", tmp_path / "data2" / "generated" / "slo.rules.yml")
    opts = ManagerOptions(query=lambda e, t: [], storage=MemoryStorage())
    rules = Group("g", str(tmp_path / "conf" / "rules" / "a.yml"), 1000, 0, [], opts)
    slo1 = Group("slo-x", str(tmp_path / "data1" / "generated" / "slo.rules.yml"), 1000, 0, [], opts)
    slo2 = Group("slo-x", str(tmp_path / "data2" / "generated" / "slo.rules.yml"), 1000, 0, [], opts)
    assert key(rules) == "rules/rules/a.yml;g"
    assert key(slo1) == other(slo2) == "rules/slo;slo-x"  # the same on replicas with other data dirs


def test_a_wildcard_listen_address_is_advertised_as_this_hosts_address() -> None:
    import socket

    from sloguard.api._cluster import advertised

    assert advertised("http://127.0.0.1:9090/") == "http://127.0.0.1:9090/"
    ip = socket.gethostbyname(socket.gethostname())
    assert advertised("http://0.0.0.0:9090/") == f"http://{ip}:9090/"
    c = parse_config("cluster: {enabled: true, advertise_url: 'http://sloguard-0.sloguard:9090/'}").cluster
    assert c.advertise_url == "http://sloguard-0.sloguard:9090/"
