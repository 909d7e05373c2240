"""Rule groups shared out over replicas: what the manager asks, and the slots every
replica agrees on.

With an :class:`Ownership` (``sloguard.cluster``'s coordinator implements it), every
replica keeps every group's schedule but evaluates a slot only while it owns the group.
Slots come from the group's *shard key* (the same on every replica, unlike a file path
that may name each replica's data directory), so two replicas evaluating one group use
the same timestamps and, on the same data, write identical samples.
"""

from __future__ import annotations

from typing import Protocol

from sloguard.labels import labels_hash

__all__ = ["Ownership", "slot_timestamp"]


class Ownership(Protocol):
    """Whether this replica may evaluate the group with shard key ``key`` now."""

    def owns(self, key: str) -> bool: ...


def slot_timestamp(start_ms: int, interval_ms: int, key: str) -> int:
    """The slot at or before ``start_ms`` for the group with shard key ``key``: Prometheus'
    ``EvalTimestamp`` arithmetic, its offset from the key's hash."""
    interval_ns = interval_ms * 1_000_000
    offset_ns = labels_hash([("group", key)]) % interval_ns
    adj = start_ms * 1_000_000 - offset_ns
    base = adj - adj % interval_ns
    return (base + offset_ns) // 1_000_000
