"""The cluster as ``GET /api/v1/status/cluster`` and the status page show it: the live
replicas with their heartbeat age and share, and every lease with its holder and expiry."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sloguard.cluster._coordinator import Coordinator
from sloguard.cluster._model import LEASE_PREFIX

__all__ = ["cluster_status", "kind_of"]


def kind_of(key: str) -> str:
    """The kind of a shared key: ``rules`` for ``rules/...``, ``rollouts`` for ``rollouts/...``."""
    return key.split("/", 1)[0] if "/" in key else "other"


def cluster_status(c: Coordinator) -> dict[str, Any]:
    """The status document (reads the state database: call it in a worker thread)."""
    now = c.store.leases.now_ms()
    members = c.store.members.records()
    leases = [lease for lease in c.store.leases.list() if lease.name.startswith(LEASE_PREFIX)]
    live = [lease for lease in leases if lease.expires_at > now]
    shares: dict[str, Counter[str]] = {}
    for lease in live:
        shares.setdefault(lease.holder, Counter())[kind_of(lease.name.removeprefix(LEASE_PREFIX))] += 1
    keys = c.keys()
    held = {lease.name.removeprefix(LEASE_PREFIX) for lease in live}
    return {
        "enabled": True,
        "replica": c.name,
        "reachable": c.reachable,
        "lastError": c.last_error,
        "heartbeatIntervalSeconds": c.options.heartbeat_ms / 1000,
        "leaseTtlSeconds": c.options.lease_ttl_ms / 1000,
        "keys": len(keys),
        "unheld": sorted(set(keys) - held),
        "replicas": [_replica(m.name, m.address, now - m.last_seen, m.expires_at - now, m.joined_at,
                              shares.get(m.name, Counter())) for m in members],
        "leases": [{"key": lease.name.removeprefix(LEASE_PREFIX), "holder": lease.holder,
                    "acquiredAt": lease.acquired_at / 1000, "expiresInSeconds": (lease.expires_at - now) / 1000}
                   for lease in leases],
    }


def _replica(name: str, address: str, age_ms: int, left_ms: int, joined: int, share: Counter[str]) -> dict[str, Any]:
    return {"name": name, "address": address, "heartbeatAgeSeconds": age_ms / 1000,
            "expiresInSeconds": left_ms / 1000, "joinedAt": joined / 1000,
            "groups": share.get("rules", 0), "rollouts": share.get("rollouts", 0), "leases": sum(share.values())}
