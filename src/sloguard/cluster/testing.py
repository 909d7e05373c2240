"""An in-memory :class:`~sloguard.cluster.ClusterStore` on an injected clock, for tests:
the same lease and membership rules as the state store's, judged on that clock."""

from __future__ import annotations

from collections.abc import Callable, Collection

from sloguard.state import Lease, PeerRecord, Taken

__all__ = ["FakeClusterStore", "FakeLeases", "FakeMembers"]


class FakeMembers:
    """``cluster_members`` rows in memory (the subset of ``PeerRegistry`` the coordinator uses)."""

    def __init__(self, now: Callable[[], int]) -> None:
        self._now = now
        self.rows: dict[str, PeerRecord] = {}

    def heartbeat(self, name: str, address: str, ttl_ms: int) -> PeerRecord:
        now = self._now()
        old = self.rows.get(name)
        joined = old.joined_at if old is not None and old.expires_at > now else now
        self.rows[name] = PeerRecord(name, address, joined, now, now + ttl_ms)
        return self.rows[name]

    def records(self) -> list[PeerRecord]:
        now = self._now()
        return sorted((r for r in self.rows.values() if r.expires_at > now), key=lambda r: r.name)

    def leave(self, name: str) -> bool:
        return self.rows.pop(name, None) is not None


class FakeLeases:
    """Leases in memory (the subset of ``LeaseRepository`` the coordinator uses)."""

    def __init__(self, now: Callable[[], int]) -> None:
        self._now = now
        self.rows: dict[str, Lease] = {}

    def acquire_many(self, names: Collection[str], holder: str, ttl_ms: int) -> list[Taken]:
        now, out = self._now(), []
        for n in sorted(set(names)):
            old = self.rows.get(n)
            if old is not None and old.holder != holder and old.expires_at > now:
                continue
            prior = 0 if old is None or old.holder == holder else old.expires_at
            acquired = old.acquired_at if old is not None and old.holder == holder else now
            self.rows[n] = Lease(n, holder, acquired, now + ttl_ms)
            out.append(Taken(self.rows[n], prior))
        return out

    def renew_held(self, holder: str, ttl_ms: int, prefix: str = "") -> list[Lease]:
        now, out = self._now(), []
        for n, lease in sorted(self.rows.items()):
            if lease.holder == holder and lease.expires_at > now and n.startswith(prefix):
                self.rows[n] = Lease(n, holder, lease.acquired_at, now + ttl_ms)
                out.append(self.rows[n])
        return out

    def release_many(self, names: Collection[str], holder: str) -> int:
        mine = [n for n in names if n in self.rows and self.rows[n].holder == holder]
        for n in mine:
            del self.rows[n]
        return len(mine)

    def list(self) -> list[Lease]:
        return [self.rows[n] for n in sorted(self.rows)]

    def now_ms(self) -> int:
        return self._now()


class FakeClusterStore:
    """Members and leases on one clock; ``down = True`` makes every call fail as a
    database that cannot be reached does."""

    def __init__(self, now: Callable[[], int]) -> None:
        self._members = FakeMembers(now)
        self._leases = FakeLeases(now)
        self.down = False

    @property
    def members(self) -> FakeMembers:
        self._check()
        return self._members

    @property
    def leases(self) -> FakeLeases:
        self._check()
        return self._leases

    def _check(self) -> None:
        from sloguard.state import StateUnavailable

        if self.down:
            raise StateUnavailable("The fake state database is down (the test took it down).")
