"""Leases: a named, time-limited right held by one replica, judged on the database's clock.

Every operation is one compare-and-set statement: :meth:`LeaseRepository.acquire` takes a
lease that is free or expired (or extends the caller's own), :meth:`renew` extends it only
for its current, unexpired holder, :meth:`release` gives it up only for its holder. Times
come from the database (one clock for all replicas, whatever their own clocks say).
"""

from __future__ import annotations

import builtins
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from sloguard.state._db import Database
from sloguard.state._schema import leases as table


@dataclass(frozen=True, slots=True)
class Lease:
    """``holder`` holds ``name`` until ``expires_at`` (UTC epoch ms, database clock);
    ``acquired_at`` is when this holder took it over (renewals keep it)."""

    name: str
    holder: str
    acquired_at: int
    expires_at: int


class LeaseRepository:
    """Leases in the state database; each operation is committed before it returns."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def acquire(self, name: str, holder: str, ttl_ms: int) -> Lease | None:
        """Take (or extend one's own) lease for ``ttl_ms``; None while another holds it.

        A lease whose ``expires_at`` is at or before the database's now is free.
        """
        _check_ttl(ttl_ms)
        with self._db.transaction() as conn:
            now = self._db.now_ms(conn)
            stmt = self._db.insert(table).values(
                name=name, holder=holder, acquired_at=now, expires_at=now + ttl_ms
            )
            same = table.c.holder == stmt.excluded.holder
            stmt = stmt.on_conflict_do_update(
                index_elements=[table.c.name],
                set_={
                    "holder": stmt.excluded.holder,
                    "acquired_at": sa.case((same, table.c.acquired_at), else_=stmt.excluded.acquired_at),
                    "expires_at": stmt.excluded.expires_at,
                },
                where=sa.or_(same, table.c.expires_at <= now),
            ).returning(table)
            row = conn.execute(stmt).mappings().first()
        return _lease(row) if row is not None else None

    def renew(self, name: str, holder: str, ttl_ms: int) -> Lease | None:
        """Extend ``holder``'s unexpired lease to now + ``ttl_ms``; None if it is not theirs."""
        _check_ttl(ttl_ms)
        with self._db.transaction() as conn:
            now = self._db.now_ms(conn)
            stmt = (
                table.update()
                .where(table.c.name == name, table.c.holder == holder, table.c.expires_at > now)
                .values(expires_at=now + ttl_ms)
                .returning(table)
            )
            row = conn.execute(stmt).mappings().first()
        return _lease(row) if row is not None else None

    def release(self, name: str, holder: str) -> bool:
        """Give up the lease if ``holder`` has it; whether it did."""
        stmt = table.delete().where(table.c.name == name, table.c.holder == holder)
        with self._db.transaction() as conn:
            return int(conn.execute(stmt).rowcount) == 1

    def get(self, name: str) -> Lease | None:
        """The lease as stored (possibly expired: compare with :meth:`now_ms`), if any."""
        with self._db.transaction() as conn:
            row = conn.execute(sa.select(table).where(table.c.name == name)).mappings().first()
        return _lease(row) if row is not None else None

    def list(self) -> list[Lease]:
        """Every stored lease (expired ones too), by name: the peers' view for a status page."""
        with self._db.transaction() as conn:
            rows = conn.execute(sa.select(table).order_by(table.c.name)).mappings().all()
        return [_lease(r) for r in rows]

    # -- many leases in one round trip (a replica's share of rule groups and rollouts)
    def acquire_many(self, names: Collection[str], holder: str, ttl_ms: int) -> builtins.list[Taken]:
        """Take every lease of ``names`` that is free or expired (or ``holder``'s own) for
        ``ttl_ms``, in one transaction: the rows are locked, then one upsert takes them.
        Returns what was taken with each lease's expiry before (0: it was free), by name."""
        _check_ttl(ttl_ms)
        if not names:
            return []
        wanted = sorted(set(names))
        with self._db.transaction() as conn:
            now = self._db.now_ms(conn)
            locked = sa.select(table.c.name, table.c.holder, table.c.expires_at).where(
                table.c.name.in_(wanted)).with_for_update()
            before = {r.name: (r.holder, int(r.expires_at)) for r in conn.execute(locked)}
            free = [n for n in wanted if n not in before or before[n][0] == holder or before[n][1] <= now]
            if not free:
                return []
            rows = [{"name": n, "holder": holder, "acquired_at": now, "expires_at": now + ttl_ms} for n in free]
            stmt = self._db.insert(table).values(rows)
            same = table.c.holder == stmt.excluded.holder
            stmt = stmt.on_conflict_do_update(
                index_elements=[table.c.name],
                set_={"holder": stmt.excluded.holder,
                      "acquired_at": sa.case((same, table.c.acquired_at), else_=stmt.excluded.acquired_at),
                      "expires_at": stmt.excluded.expires_at},
                where=sa.or_(same, table.c.expires_at <= now),
            ).returning(table)
            taken = conn.execute(stmt).mappings().all()
        return sorted((Taken(_lease(r), _prior(before.get(r["name"]), holder)) for r in taken),
                      key=lambda t: t.lease.name)

    def renew_held(self, holder: str, ttl_ms: int, prefix: str = "") -> builtins.list[Lease]:
        """Extend every unexpired lease ``holder`` has (whose name starts with ``prefix``)
        to now + ``ttl_ms``: one statement however many there are. Returns them, by name."""
        _check_ttl(ttl_ms)
        with self._db.transaction() as conn:
            now = self._db.now_ms(conn)
            stmt = (
                table.update()
                .where(table.c.holder == holder, table.c.expires_at > now, table.c.name.startswith(prefix))
                .values(expires_at=now + ttl_ms)
                .returning(table)
            )
            rows = conn.execute(stmt).mappings().all()
        return sorted((_lease(r) for r in rows), key=lambda lease: lease.name)

    def release_many(self, names: Collection[str], holder: str) -> int:
        """Give up those of ``names`` that ``holder`` has, in one statement; how many."""
        if not names:
            return 0
        stmt = table.delete().where(table.c.name.in_(sorted(set(names))), table.c.holder == holder)
        with self._db.transaction() as conn:
            return int(conn.execute(stmt).rowcount)

    def now_ms(self) -> int:
        """The database's clock, the one leases expire by (UTC epoch ms)."""
        with self._db.transaction() as conn:
            return self._db.now_ms(conn)


@dataclass(frozen=True, slots=True)
class Taken:
    """A lease :meth:`LeaseRepository.acquire_many` took, and when the previous holder's
    lease ended (``previous_expiry``, database clock; 0 when it was free or already ours)."""

    lease: Lease
    previous_expiry: int


def _prior(before: tuple[str, int] | None, holder: str) -> int:
    if before is None or before[0] == holder:
        return 0
    return before[1]


def _check_ttl(ttl_ms: int) -> None:
    if ttl_ms < 0:
        raise ValueError(f"A lease's time to live must not be negative; got {ttl_ms} ms.")


def _lease(row: Any) -> Lease:
    return Lease(row["name"], row["holder"], int(row["acquired_at"]), int(row["expires_at"]))
