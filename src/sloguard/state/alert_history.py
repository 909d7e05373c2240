"""The alert history: alerts fired and resolved, silences created, updated and expired.

The alerting pipeline records an alert's transitions (its labels, fingerprint and the time
it started or ended); the silence repository records each silence write in the same
transaction as the write, with who made it. Charts (the SLO page) read the events of a
time range back. An event is stored once: a second record with the same kind, key and
time (another replica saw the same alert, a replay after a restart) is ignored.

The history is bounded: :meth:`AlertHistoryRepository.gc` drops events older than the
retention and, past ``max_rows``, the oldest ones.
"""

from __future__ import annotations

import enum
import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from json.encoder import encode_basestring_ascii as _quote
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sloguard._slots import fast_init
from sloguard.alerting.silence_match import Silence, SilenceMatcher
from sloguard.state._db import Database, columns, unnest
from sloguard.state._errors import StateError
from sloguard.state._schema import alert_history as table

Clock = Callable[[], int]
"""Now, in UTC epoch milliseconds."""

DAY_MS = 86_400_000
DEFAULT_RETENTION_MS = 35 * DAY_MS
"""How long events are kept by default: a 30-day SLO window and some slack."""
DEFAULT_MAX_ROWS = 100_000
"""How many events are kept at most by default (the oldest go first)."""
MAX_QUERY_ROWS = 10_000
"""The most events one :meth:`AlertHistoryRepository.query` returns (the latest ones)."""


class HistoryKind(enum.StrEnum):
    """What happened."""

    ALERT_FIRED = "alert_fired"
    ALERT_RESOLVED = "alert_resolved"
    SILENCE_CREATED = "silence_created"
    SILENCE_UPDATED = "silence_updated"
    SILENCE_EXPIRED = "silence_expired"

    @property
    def is_silence(self) -> bool:
        return self.value.startswith("silence_")


@fast_init
@dataclass(frozen=True, slots=True)
class HistoryEvent:
    """One event at ``time`` (UTC epoch ms). ``key`` is the alert's fingerprint (16 hex
    digits) or the silence's id. An alert event has the alert's ``labels`` and its
    ``starts_at``/``ends_at`` (0: none); a silence event has the silence's ``matchers``,
    range, ``created_by`` and ``comment``. ``actor`` is who caused it ("" for alerts: the
    rules did)."""

    time: int
    kind: HistoryKind
    key: str
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)
    matchers: tuple[SilenceMatcher, ...] = ()
    starts_at: int = 0
    ends_at: int = 0
    created_by: str = ""
    comment: str = ""
    actor: str = ""


def alert_history_event(time: int, kind: HistoryKind, key: str, labels: dict[str, str], starts_at: int,
                        ends_at: int) -> HistoryEvent:
    """An alert's event (no matchers, creator, comment or actor; the alerting pipeline makes
    one for each alert that fires)."""
    return HistoryEvent(time, kind, key, labels, (), starts_at, ends_at)


def silence_event(kind: HistoryKind, silence: Silence, time: int, actor: str) -> HistoryEvent:
    """The event of a silence write (its times in epoch ms, whole milliseconds)."""
    from sloguard.state.silences import to_ms

    return HistoryEvent(time, kind, silence.id, matchers=silence.matchers, starts_at=to_ms(silence.starts_at),
                        ends_at=to_ms(silence.ends_at), created_by=silence.created_by, comment=silence.comment,
                        actor=actor)


_COLUMNS = ", ".join(f'"{c}"' for c in (
    "time", "kind", "key", "labels", "starts_at", "ends_at", "created_by", "comment", "actor", "recorded_at"))
_TYPES = ("bigint", "text", "text", "text", "bigint", "bigint", "text", "text", "text", "bigint")
_ONCE = 'ON CONFLICT ("kind", "key", "time") DO NOTHING'
_ROWS_PER_INSERT = 99
"""Events per statement: under 999 parameters, the limit of SQLite before 3.32."""


def insert_events(db: Database, conn: Connection, events: Sequence[HistoryEvent], recorded_at: int) -> int:
    """Insert ``events`` in the caller's transaction (duplicates skipped); how many were new.

    Multi-row INSERTs in driver SQL (on PostgreSQL one array per column, ``unnest``: a short
    statement psycopg parses once, not 990 placeholders in Python at every call): a statement compiled per event cost about 0.35 ms each, the expression
    layer's per-row parameter processing about 20 µs (bench/RESULTS.md, alerting). The
    statement's row count is the rows inserted (both count none for a conflict skipped),
    so no ids come back to be read."""
    rows = [_to_row(e, recorded_at) for e in events]
    if db.dialect == "postgresql":  # one array per column: a short statement psycopg parses once
        sql = f"INSERT INTO alert_history ({_COLUMNS}) SELECT * FROM {unnest(_TYPES)} {_ONCE}"
        return int(conn.exec_driver_sql(sql, columns(rows, len(_TYPES))).rowcount)
    row = "(" + ", ".join(["?"] * 10) + ")"
    new = 0
    for i in range(0, len(events), _ROWS_PER_INSERT):
        chunk = rows[i:i + _ROWS_PER_INSERT]
        sql = f"INSERT INTO alert_history ({_COLUMNS}) VALUES {', '.join([row] * len(chunk))} {_ONCE}"
        params = tuple(itertools.chain.from_iterable(chunk))
        new += conn.exec_driver_sql(sql, params).rowcount
    return new


class AlertHistoryRepository:
    """The events in the state database; each write is committed before it returns."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def record(self, events: Sequence[HistoryEvent]) -> int:
        """Store ``events`` (one already stored is skipped); how many were new."""
        with self._db.transaction() as conn:
            return insert_events(self._db, conn, events, self._clock())

    def query(self, start_ms: int, end_ms: int, limit: int = MAX_QUERY_ROWS) -> list[HistoryEvent]:
        """The events with ``start_ms <= time <= end_ms``, oldest first; past ``limit``,
        the latest ``limit`` of them."""
        if end_ms < start_ms:
            raise StateError(f"The history range ends ({end_ms}) before it starts ({start_ms}); give end >= start.")
        query = (sa.select(table).where(table.c.time >= start_ms, table.c.time <= end_ms)
                 .order_by(table.c.time.desc(), table.c.id.desc()).limit(max(limit, 0)))
        with self._db.transaction() as conn:
            rows = conn.execute(query).mappings().all()
        return [_from_row(r) for r in reversed(rows)]

    def gc(self, retention_ms: int = DEFAULT_RETENTION_MS, max_rows: int = DEFAULT_MAX_ROWS) -> int:
        """Drop events older than ``retention_ms`` and, past ``max_rows``, the oldest; how many."""
        cutoff = self._clock() - retention_ms
        with self._db.transaction() as conn:
            dropped = int(conn.execute(table.delete().where(table.c.time < cutoff)).rowcount or 0)
            kept = sa.select(table.c.id).order_by(table.c.time.desc(), table.c.id.desc()).offset(max_rows).limit(1)
            edge = conn.execute(kept).mappings().first()
            if edge is not None:
                row = conn.execute(sa.select(table.c.time, table.c.id).where(table.c.id == edge["id"])).one()
                older = sa.or_(table.c.time < row.time, sa.and_(table.c.time == row.time, table.c.id <= row.id))
                dropped += int(conn.execute(table.delete().where(older)).rowcount or 0)
        return dropped


def _matcher_json(m: SilenceMatcher) -> dict[str, Any]:
    return {"name": m.name, "value": m.value, "isRegex": m.is_regex, "isEqual": m.is_equal}


def _labels_json(labels: Mapping[str, str]) -> str:
    """``json.dumps(dict(labels), sort_keys=True)`` for string names and values, spelled out
    with the encoder's own string quoting (``json.dumps`` makes an encoder each call)."""
    return "{" + ", ".join([f"{_quote(k)}: {_quote(v)}" for k, v in sorted(labels.items())]) + "}"


def _to_row(e: HistoryEvent, recorded_at: int) -> tuple[Any, ...]:
    if e.kind.is_silence:
        what = json.dumps([_matcher_json(m) for m in e.matchers], sort_keys=True)
    else:
        what = _labels_json(e.labels)
    return (e.time, e.kind.value, e.key, what, e.starts_at, e.ends_at, e.created_by, e.comment, e.actor, recorded_at)


def _from_row(r: Any) -> HistoryEvent:
    kind = HistoryKind(r["kind"])
    what = json.loads(r["labels"])
    matchers: tuple[SilenceMatcher, ...] = ()
    labels: dict[str, str] = {}
    if kind.is_silence:
        matchers = tuple(SilenceMatcher(str(m["name"]), str(m["value"]), bool(m["isRegex"]), bool(m["isEqual"]))
                         for m in what)
    else:
        labels = {str(k): str(v) for k, v in what.items()}
    return HistoryEvent(int(r["time"]), kind, r["key"], labels, matchers, int(r["starts_at"]), int(r["ends_at"]),
                        r["created_by"], r["comment"], r["actor"])
