"""Leases: a named, time-limited right held by one replica, judged on the database's clock.

Every operation is one compare-and-set statement: :meth:`LeaseRepository.acquire` takes a
lease that is free or expired (or extends the caller's own), :meth:`renew` extends it only
for its current, unexpired holder, :meth:`release` gives it up only for its holder. Times
come from the database (one clock for all replicas, whatever their own clocks say).
"""

from __future__ import annotations

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

    def now_ms(self) -> int:
        """The database's clock, the one leases expire by (UTC epoch ms)."""
        with self._db.transaction() as conn:
            return self._db.now_ms(conn)


def _check_ttl(ttl_ms: int) -> None:
    if ttl_ms < 0:
        raise ValueError(f"A lease's time to live must not be negative; got {ttl_ms} ms.")


def _lease(row: Any) -> Lease:
    return Lease(row["name"], row["holder"], int(row["acquired_at"]), int(row["expires_at"]))
