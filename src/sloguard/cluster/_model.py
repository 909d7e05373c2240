"""The cluster's small types: what the coordinator needs of the store, its options, the
clock it times ownership on, the key sources and what a round found."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from sloguard.state import LeaseRepository, PeerRegistry, Taken

__all__ = ["LEASE_PREFIX", "ClusterOptions", "ClusterStore", "MonotonicClock", "Round", "Source"]

LEASE_PREFIX = "cluster/"
"""Every lease the coordinator takes is named ``cluster/<key>``."""

class ClusterStore(Protocol):
    """What the coordinator needs of the state store (``SqlStateStore`` has both)."""

    @property
    def members(self) -> PeerRegistry: ...

    @property
    def leases(self) -> LeaseRepository: ...


class MonotonicClock:
    """A :class:`Clock` that never jumps (leases are timed on it, not on the wall)."""

    def now_ms(self) -> int:
        return time.monotonic_ns() // 1_000_000

    async def sleep_until(self, t_ms: int) -> None:
        delay = (t_ms - self.now_ms()) / 1000
        if delay > 0:
            await asyncio.sleep(delay)


@dataclass(frozen=True, slots=True)
class ClusterOptions:
    """This replica's name (unique in the cluster) and address (its root URL), and the
    timing: a heartbeat round every ``heartbeat_ms``; leases and membership last
    ``lease_ttl_ms``; ownership ends ``safety_ms`` before the lease could expire."""

    name: str
    address: str = ""
    heartbeat_ms: int = 2_000
    lease_ttl_ms: int = 10_000
    safety_ms: int = 0

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("A cluster replica's name must not be empty.")
        if self.heartbeat_ms <= 0 or self.lease_ttl_ms < 2 * self.heartbeat_ms:
            raise ValueError(
                f"The cluster's lease_ttl ({self.lease_ttl_ms} ms) must be at least twice its "
                f"heartbeat_interval ({self.heartbeat_ms} ms), and the interval positive, so one "
                "late heartbeat does not lose every lease."
            )

    @property
    def margin_ms(self) -> int:
        """How long before the lease's expiry ownership ends (default: a fifth of the ttl)."""
        return self.safety_ms or self.lease_ttl_ms // 5


@dataclass(frozen=True, slots=True)
class Source:
    """Keys to share out: ``list_keys()`` gives them (without the lease prefix); ``on_acquire``
    runs on the event loop when this replica takes one."""

    name: str
    list_keys: Callable[[], Iterable[str]]
    on_acquire: Callable[[str, int], Awaitable[None]] | None = None


@dataclass(frozen=True, slots=True)
class Round:
    """What one round found: the live members, the keys held and those newly taken."""

    members: tuple[str, ...]
    held: frozenset[str]
    taken: tuple[Taken, ...]
    addresses: tuple[tuple[str, str], ...] = ()
    #: This replica's monotonic time just before it renewed: ownership is timed from it.
    renewing_at: int = 0
    given_up: int = 0
