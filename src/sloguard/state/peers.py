"""Replica membership: which sloguard replicas share this store (``GET /api/v2/status``
shows them as the cluster's peers).

Each replica calls :meth:`PeerRegistry.heartbeat` periodically with a time to live; a
replica is live until its last heartbeat's time to live has passed, judged on the
database's clock (one clock for every replica, as leases are), and leaves at shutdown with
:meth:`leave`. A replica that died just stops being live.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from sloguard.state._db import Database
from sloguard.state._schema import peers as peers_table

__all__ = ["PeerRecord", "PeerRegistry"]


@dataclass(frozen=True, slots=True)
class PeerRecord:
    """A replica's row: ``joined_at`` is its first heartbeat since it last left or expired,
    ``last_seen`` its latest, ``expires_at`` when it stops being live (UTC epoch ms,
    database clock)."""

    name: str
    address: str
    joined_at: int
    last_seen: int
    expires_at: int


class PeerRegistry:
    """Replica heartbeats in the state database; each call is committed before it returns."""

    def __init__(self, db: Database, table: sa.Table = peers_table) -> None:
        """``table`` is ``peers`` (the alerting pipeline's view) or ``cluster_members``
        (the replicas sharding rule groups, with their own heartbeat period)."""
        self._db = db
        self._table = table

    def heartbeat(self, name: str, address: str, ttl_ms: int) -> PeerRecord:
        """Say that replica ``name`` (reachable at ``address``) is live for ``ttl_ms`` more."""
        if not name:
            raise ValueError("A replica's name for the peer registry must not be empty.")
        if ttl_ms <= 0:
            raise ValueError(f"A peer heartbeat's time to live must be positive; got {ttl_ms} ms for {name!r}.")
        with self._db.transaction() as conn:
            now = self._db.now_ms(conn)
            stmt = self._db.insert(self._table).values(
                name=name, address=address, joined_at=now, last_seen=now, expires_at=now + ttl_ms)
            rejoined = self._table.c.expires_at <= now  # it had expired: a new membership begins
            stmt = stmt.on_conflict_do_update(
                index_elements=[self._table.c.name],
                set_={
                    "address": stmt.excluded.address,
                    "joined_at": sa.case((rejoined, stmt.excluded.joined_at), else_=self._table.c.joined_at),
                    "last_seen": stmt.excluded.last_seen,
                    "expires_at": stmt.excluded.expires_at,
                },
            ).returning(self._table)
            return _record(conn.execute(stmt).mappings().one())

    def live(self) -> list[tuple[str, str]]:
        """The live replicas as (name, address), by name."""
        return [(p.name, p.address) for p in self.records()]

    def records(self) -> list[PeerRecord]:
        """The live replicas' rows, by name."""
        with self._db.transaction() as conn:
            now = self._db.now_ms(conn)
            query = sa.select(self._table).where(self._table.c.expires_at > now).order_by(self._table.c.name)
            return [_record(r) for r in conn.execute(query).mappings().all()]

    def leave(self, name: str) -> bool:
        """Remove replica ``name`` (at shutdown); whether it was there."""
        with self._db.transaction() as conn:
            return int(conn.execute(self._table.delete().where(self._table.c.name == name)).rowcount) == 1

    def gc(self) -> int:
        """Remove replicas whose heartbeat expired; how many."""
        with self._db.transaction() as conn:
            now = self._db.now_ms(conn)
            return int(conn.execute(self._table.delete().where(self._table.c.expires_at <= now)).rowcount)


def _record(row: Any) -> PeerRecord:
    return PeerRecord(row["name"], row["address"], int(row["joined_at"]), int(row["last_seen"]),
                      int(row["expires_at"]))
