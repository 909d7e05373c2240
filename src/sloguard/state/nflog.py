"""The notification log: what each receiver integration last sent for each group.

Alertmanager keeps, per (receiver, group key), the hashes of the firing and resolved
alerts of the last notification, its time and an expiry; the dedup stage compares a new
flush with it. :meth:`NotificationLog.claim` adds what Alertmanager's gossip lacks: a
conditional upsert of one row per (receiver, group key, flush id), so replicas sharing a
database learn which one of them sends that flush (one unexpired claim at a time).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sloguard._slots import fast_init
from sloguard.state._db import Database
from sloguard.state._nflog_sql import NflogSql
from sloguard.state._schema import nflog as log_table
from sloguard.state._schema import nflog_claims as claims_table

Clock = Callable[[], int]


@fast_init
@dataclass(frozen=True, slots=True)
class NflogReceiver:
    """One integration of one receiver: Alertmanager's (group name, integration, index)."""

    name: str
    integration: str
    idx: int = 0

    def __str__(self) -> str:
        return f"{self.name}/{self.integration}[{self.idx}]"


@fast_init
@dataclass(frozen=True, slots=True)
class NflogEntry:
    """The last notification sent for a group to one receiver integration.

    ``firing`` and ``resolved`` are the hashes of the alerts it carried (sorted, distinct);
    ``timestamp`` and ``expires_at`` are UTC epoch milliseconds.
    """

    receiver: NflogReceiver
    group_key: str
    timestamp: int
    firing: tuple[int, ...]
    resolved: tuple[int, ...]
    expires_at: int

    def is_firing_subset(self, alerts: Iterable[int]) -> bool:
        """Whether every alert in ``alerts`` was firing in this notification."""
        return set(alerts) <= set(self.firing)

    def is_resolved_subset(self, alerts: Iterable[int]) -> bool:
        """Whether every alert in ``alerts`` was resolved in this notification."""
        return set(alerts) <= set(self.resolved)


@fast_init
@dataclass(frozen=True, slots=True)
class NflogQuery:
    """Read the last notification of a receiver integration for a group (an ``NflogEntry`` or None)."""

    receiver: NflogReceiver
    group_key: str


@fast_init
@dataclass(frozen=True, slots=True)
class NflogClaim:
    """Claim flush ``flush_id`` of a group for ``holder`` until ``expires_at`` (True if it went in)."""

    receiver: NflogReceiver
    group_key: str
    flush_id: str
    holder: str
    expires_at: int


@fast_init
@dataclass(frozen=True, slots=True)
class NflogRecord:
    """Record a notification that was sent (None)."""

    entry: NflogEntry


@fast_init
@dataclass(frozen=True, slots=True)
class NflogDecide:
    """Read the last notification of a receiver integration for a group, ask ``decide``
    which flush that makes (its id; None: nothing to send) and claim that flush for
    ``holder`` until ``expires_at``, all in one transaction (an :class:`NflogDecision`).
    ``decide`` runs where the transaction runs: it must only compute."""

    receiver: NflogReceiver
    group_key: str
    holder: str
    expires_at: int
    decide: Callable[[NflogEntry | None], str | None]


@fast_init
@dataclass(frozen=True, slots=True)
class NflogDecision:
    """What an :class:`NflogDecide` found: the entry read, the flush id ``decide`` gave
    (None: nothing to send, nothing claimed) and whether the claim went in."""

    entry: NflogEntry | None
    flush_id: str | None
    won: bool


NflogOp = NflogQuery | NflogClaim | NflogRecord | NflogDecide
NflogResult = NflogEntry | NflogDecision | bool | None


class NotificationLog:
    """The nflog in the state database; each write is committed before it returns.

    :meth:`run` executes many operations in one transaction (one commit), in order: the
    pipeline batches the calls of concurrent flushes that way; the single-call methods
    are one-operation runs.
    """

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        self._sql = NflogSql(db.dialect)

    def run(self, ops: Sequence[NflogOp]) -> list[NflogResult]:
        """Execute ``ops`` in one transaction with one statement per kind: the records (the
        latest of each key wins), then the reads of the decides (one select) and their
        decisions, then the claims, the decides' among them (one multi-row conditional
        insert; the first claim of a key and flush in ``ops`` competes, a repeat of it
        loses), then the queries (one select); their results in the order of ``ops``."""
        now = self._clock()
        records = [op for op in ops if isinstance(op, NflogRecord)]
        decides = [op for op in ops if isinstance(op, NflogDecide)]
        queries = [op for op in ops if isinstance(op, NflogQuery)]
        with self._db.transaction() as conn:
            if records:
                self._sql.log(conn, [_log_row(e) for e in _latest(records)])
            read = self._query_all(conn, decides) if decides else {}
            decided = {id(op): _decided(op, read) for op in decides}
            claims = [_as_claim(op, decided) for op in ops if isinstance(op, (NflogClaim, NflogDecide))]
            valid = [c for c in claims if c is not None]
            won = self._claim_all(conn, valid, now) if valid else set()
            found = self._query_all(conn, queries) if queries else {}
        return [_result(op, won, found, decided) for op in ops]

    def _claim_all(self, conn: Connection, claims: list[NflogClaim], now: int) -> set[int]:
        """The ids of the claims in ``claims`` that went in."""
        first: dict[tuple[Any, ...], NflogClaim] = {}
        for c in claims:
            first.setdefault((c.group_key, c.receiver.name, c.receiver.integration, c.receiver.idx, c.flush_id), c)
        rows = [(*k, c.holder, now, c.expires_at) for k, c in first.items()]
        went_in = self._sql.claim(conn, rows, now)  # (group_key, receiver, integration, idx, flush_id)
        return {id(c) for k, c in first.items() if k in went_in}

    def _query_all(self, conn: Connection, queries: Sequence[NflogQuery | NflogDecide],
                   ) -> dict[tuple[Any, ...], NflogEntry]:
        keys = {(q.group_key, q.receiver.name, q.receiver.integration, q.receiver.idx) for q in queries}
        # By group key only (one parameter per key); other integrations' rows are left out here.
        out = {}
        for group_key, name, integration, idx, timestamp, firing, resolved, expires_at in self._sql.query(
                conn, sorted({k[0] for k in keys})):
            key = (group_key, name, integration, int(idx))
            if key in keys:
                out[key] = NflogEntry(NflogReceiver(name, integration, int(idx)), group_key, int(timestamp),
                                      tuple(json.loads(firing)), tuple(json.loads(resolved)), int(expires_at))
        return out

    def log(
        self,
        receiver: NflogReceiver,
        group_key: str,
        firing: Iterable[int],
        resolved: Iterable[int],
        *,
        expires_at: int,
        timestamp: int | None = None,
    ) -> NflogEntry:
        """Record a notification that was sent (after the receiver accepted it).

        An entry with a later timestamp already there is kept (as Alertmanager's ``Log``
        does when replicas race): the returned entry is then not the stored one.
        """
        entry = NflogEntry(
            receiver, group_key, self._clock() if timestamp is None else timestamp,
            tuple(sorted(set(firing))), tuple(sorted(set(resolved))), expires_at,
        )
        self.run([NflogRecord(entry)])
        return entry

    def query(self, receiver: NflogReceiver, group_key: str) -> NflogEntry | None:
        """The last notification logged for this receiver integration and group, if any."""
        found = self.run([NflogQuery(receiver, group_key)])[0]
        return found if isinstance(found, NflogEntry) else None

    def claim(
        self, receiver: NflogReceiver, group_key: str, flush_id: str, holder: str, *, expires_at: int
    ) -> bool:
        """Claim the right to send flush ``flush_id`` of this group until ``expires_at``:
        True for exactly one holder at a time.

        One ``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` on the row (receiver, group key,
        flush id): the row goes in when there is none, and is taken over when its claim
        expired (``expires_at`` at or before the log's now) or was ``holder``'s own. Every
        other caller gets False while the claim holds. So a replica that claimed a flush
        and died blocks it only until its claim expires; whoever flushes next sends.
        """
        return self.run([NflogClaim(receiver, group_key, flush_id, holder, expires_at)])[0] is True

    def claim_holder(self, receiver: NflogReceiver, group_key: str, flush_id: str) -> str | None:
        """Who claimed this flush (None: nobody yet)."""
        table = claims_table
        query = sa.select(table.c.holder).where(
            *_where(table, receiver, group_key), table.c.flush_id == flush_id
        )
        with self._db.transaction() as conn:
            found = conn.execute(query).scalar_one_or_none()
        return None if found is None else str(found)

    def gc(self) -> int:
        """Remove log entries and claims whose expiry is now or past (as Alertmanager); how many."""
        now = self._clock()
        with self._db.transaction() as conn:
            n = conn.execute(log_table.delete().where(log_table.c.expires_at <= now)).rowcount
            n += conn.execute(claims_table.delete().where(claims_table.c.expires_at <= now)).rowcount
        return int(n)


def _log_row(e: NflogEntry) -> tuple[Any, ...]:
    return (e.group_key, e.receiver.name, e.receiver.integration, e.receiver.idx, e.timestamp, _json_ints(e.firing),
            _json_ints(e.resolved), e.expires_at)


def _json_ints(hashes: tuple[int, ...]) -> str:
    """``json.dumps(hashes)`` (the stored form of a hash list), without the encoder's machinery."""
    return f"[{', '.join(map(str, hashes))}]"


def _latest(records: list[NflogRecord]) -> list[NflogEntry]:
    """One entry per key: the one with the latest timestamp (the last of equals)."""
    by_key: dict[tuple[Any, ...], NflogEntry] = {}
    for r in records:
        e = r.entry
        k = (e.group_key, e.receiver.name, e.receiver.integration, e.receiver.idx)
        old = by_key.get(k)
        if old is None or old.timestamp <= e.timestamp:
            by_key[k] = e
    return list(by_key.values())


def _entry_of(op: NflogQuery | NflogDecide, found: dict[tuple[Any, ...], NflogEntry]) -> NflogEntry | None:
    rcv = op.receiver
    return found.get((op.group_key, rcv.name, rcv.integration, rcv.idx))


def _decided(op: NflogDecide, read: dict[tuple[Any, ...], NflogEntry]) -> tuple[NflogEntry | None, NflogClaim | None]:
    """A decide's entry and the claim its decision makes (None: nothing to send)."""
    entry = _entry_of(op, read)
    flush = op.decide(entry)
    return entry, None if flush is None else NflogClaim(op.receiver, op.group_key, flush, op.holder, op.expires_at)


def _as_claim(op: NflogClaim | NflogDecide,
              decided: dict[int, tuple[NflogEntry | None, NflogClaim | None]]) -> NflogClaim | None:
    return op if isinstance(op, NflogClaim) else decided[id(op)][1]


def _result(op: NflogOp, won: set[int], found: dict[tuple[Any, ...], NflogEntry],
            decided: dict[int, tuple[NflogEntry | None, NflogClaim | None]]) -> NflogResult:
    if isinstance(op, NflogQuery):
        return _entry_of(op, found)
    if isinstance(op, NflogClaim):
        return id(op) in won
    if isinstance(op, NflogDecide):
        entry, claim = decided[id(op)]
        return NflogDecision(entry, None if claim is None else claim.flush_id, claim is not None and id(claim) in won)
    return None


def _key(receiver: NflogReceiver, group_key: str) -> dict[str, Any]:
    return {"group_key": group_key, "receiver": receiver.name, "integration": receiver.integration, "idx": receiver.idx}


def _where(table: sa.Table, receiver: NflogReceiver, group_key: str) -> list[sa.ColumnElement[bool]]:
    return [table.c[k] == v for k, v in _key(receiver, group_key).items()]
