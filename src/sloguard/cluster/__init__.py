"""High availability and sharding over the shared PostgreSQL state store.

Replicas register in ``cluster_members`` with heartbeats; the keys to work on (rule
groups, SLO rule groups, rollouts) are shared out by rendezvous hashing over the live
replicas (:mod:`._hashing`); each key is worked on under a lease in the ``leases`` table
by one replica at a time (:class:`Coordinator`, whose :meth:`~Coordinator.owns` the rule
manager and the rollout service ask). No gossip, no consensus of our own: rows in
PostgreSQL. See docs/scale.md, "High availability and sharding".
"""

from sloguard.cluster._coordinator import Coordinator
from sloguard.cluster._hashing import assign, owner, score
from sloguard.cluster._model import (
    LEASE_PREFIX,
    ClusterOptions,
    ClusterStore,
    MonotonicClock,
    Round,
    Source,
)
from sloguard.cluster._status import cluster_status, kind_of

__all__ = [
    "LEASE_PREFIX",
    "ClusterOptions",
    "ClusterStore",
    "Coordinator",
    "MonotonicClock",
    "Round",
    "Source",
    "assign",
    "cluster_status",
    "kind_of",
    "owner",
    "score",
]
