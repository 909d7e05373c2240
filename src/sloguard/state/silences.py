"""Silences, stored: the repository behind Alertmanager 0.25's ``Silences.Set`` and ``Expire``.

The model and every rule (validation, states, update-in-place or expire-and-replace,
expiry) are :mod:`sloguard.alerting.silence_match`'s; this module only stores them. Times
are timezone-aware datetimes in the model and UTC epoch milliseconds in the database:
:func:`to_ms` and :func:`from_ms` convert at this boundary (a stored time keeps whole
milliseconds). Every write is one transaction: a refused silence writes nothing, not even
the expiry of the silence it was to replace.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sloguard.alerting.silence_match import (
    Silence,
    SilenceInvalid,
    SilenceMatcher,
    SilenceState,
    can_update,
    expire,
    start_no_earlier_than,
    validate_silence,
)
from sloguard.state._db import Database
from sloguard.state._errors import InvalidSilence, NotFound
from sloguard.state._schema import silences as table
from sloguard.state.alert_history import HistoryKind, insert_events, silence_event

Clock = Callable[[], int]
"""Now, in UTC epoch milliseconds."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def to_ms(t: datetime) -> int:
    """An aware datetime as UTC epoch milliseconds (sub-millisecond digits dropped)."""
    return (t - _EPOCH) // _MS


def from_ms(ms: int) -> datetime:
    """UTC epoch milliseconds as an aware UTC datetime."""
    return _EPOCH + ms * _MS


class SilenceRepository:
    """Silences in the state database; each write is committed before it returns."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        #: Bumped by every write through this repository, so a cache of silences in the
        #: same process reads them again at once (other replicas' writes show at its refresh).
        self.generation = 0

    def now(self) -> datetime:
        """The repository's clock as an aware UTC datetime (what ``state_at`` wants)."""
        return from_ms(self._clock())

    def set(self, silence: Silence, actor: str = "") -> str:
        """Create (empty id) or update a silence as ``Silences.Set`` does; the id it is
        stored under. The alert history records the write with ``actor`` (who did it; ""
        names the silence's ``created_by``), in the same transaction.

        Raises :class:`NotFound` for an id that does not exist and :class:`InvalidSilence`
        (Alertmanager's "silence invalid: ..." text) for a silence it would refuse.
        """
        now = self.now()
        actor = actor or silence.created_by
        _validate(replace(silence, updated_at=now))
        with self._db.transaction() as conn:
            prev = self._get(conn, silence.id, lock=True) if silence.id else None
            if silence.id and prev is None:
                raise NotFound(f"There is no silence with id {silence.id!r} to update.")
            if prev is not None and can_update(prev, silence, now):
                self._write(conn, silence, now, insert=False)
                self._record(conn, HistoryKind.SILENCE_UPDATED, silence, now, actor)
                self.generation += 1
                return silence.id
            if prev is not None and prev.state_at(now) is not SilenceState.EXPIRED:
                self._write(conn, expire(prev, now), now, insert=False)
                self._record(conn, HistoryKind.SILENCE_EXPIRED, expire(prev, now), now, actor)
            new = start_no_earlier_than(replace(silence, id=str(uuid.uuid4()), updated_at=now), now)
            _validate(new)  # a start moved up to now may be after the end: refused, rolled back
            self._write(conn, new, now, insert=True)
            self._record(conn, HistoryKind.SILENCE_CREATED, new, now, actor)
        self.generation += 1
        return new.id

    def expire(self, silence_id: str, actor: str = "") -> Silence:
        """End a silence now (a pending one never starts); the silence as stored. The
        alert history records the expiry with ``actor`` (who did it).

        Raises :class:`NotFound` for an unknown id. An already expired silence is left as
        it is and returned (Alertmanager 0.25 answers that expire with success too).
        """
        now = self.now()
        with self._db.transaction() as conn:
            prev = self._get(conn, silence_id, lock=True)
            if prev is None:
                raise NotFound(f"There is no silence with id {silence_id!r} to expire.")
            if prev.state_at(now) is SilenceState.EXPIRED:
                return prev
            expired = expire(prev, now)  # times from the database and the clock: whole ms
            self._write(conn, expired, now, insert=False)
            self._record(conn, HistoryKind.SILENCE_EXPIRED, expired, now, actor)
        self.generation += 1
        return expired

    def get(self, silence_id: str) -> Silence:
        """The silence with this id; :class:`NotFound` when there is none."""
        with self._db.transaction() as conn:
            found = self._get(conn, silence_id, lock=False)
        if found is None:
            raise NotFound(f"There is no silence with id {silence_id!r}.")
        return found

    def list(self, states: Iterable[SilenceState] | None = None) -> list[Silence]:
        """Every stored silence (or those in ``states`` now), oldest start first."""
        wanted = set(states) if states is not None else None
        now = self.now()
        query = sa.select(table).order_by(table.c.starts_at, table.c.id)
        with self._db.transaction() as conn:
            rows = conn.execute(query).mappings().all()
        found = [_from_row(r) for r in rows]
        return [s for s in found if wanted is None or s.state_at(now) in wanted]

    def gc(self, retention_ms: int) -> int:
        """Remove silences that ended ``retention_ms`` ago or earlier; how many."""
        cutoff = self._clock() - retention_ms
        with self._db.transaction() as conn:
            return int(conn.execute(table.delete().where(table.c.ends_at <= cutoff)).rowcount)

    def _record(self, conn: Connection, kind: HistoryKind, s: Silence, now: datetime, actor: str) -> None:
        insert_events(self._db, conn, [silence_event(kind, s, to_ms(now), actor)], to_ms(now))

    def _get(self, conn: Connection, silence_id: str, *, lock: bool) -> Silence | None:
        query = sa.select(table).where(table.c.id == silence_id)
        if lock:
            query = query.with_for_update()
        row = conn.execute(query).mappings().first()
        return _from_row(row) if row is not None else None

    def _write(self, conn: Connection, s: Silence, now: datetime, *, insert: bool) -> None:
        values = _to_row(s, now)
        if insert:
            conn.execute(table.insert().values(values))
        else:
            conn.execute(table.update().where(table.c.id == s.id).values(values))


def _validate(s: Silence) -> None:
    """``validate_silence``, its refusal raised as the state package's error."""
    for field, t in (("starts_at", s.starts_at), ("ends_at", s.ends_at)):
        if t.utcoffset() is None:
            raise InvalidSilence(f"The silence's {field} {t.isoformat()} has no time zone; give an aware datetime.")
    try:
        validate_silence(s)
    except SilenceInvalid as e:
        raise InvalidSilence(str(e)) from e


def _matcher_json(m: SilenceMatcher) -> dict[str, Any]:
    return {"name": m.name, "value": m.value, "isRegex": m.is_regex, "isEqual": m.is_equal}


def _matcher_from_json(d: dict[str, Any]) -> SilenceMatcher:
    return SilenceMatcher(str(d["name"]), str(d["value"]), bool(d.get("isRegex", False)), bool(d.get("isEqual", True)))


def _to_row(s: Silence, now: datetime) -> dict[str, Any]:
    return {
        "id": s.id,
        "matchers": json.dumps([_matcher_json(m) for m in s.matchers]),
        "starts_at": to_ms(s.starts_at),
        "ends_at": to_ms(s.ends_at),
        "updated_at": to_ms(now),
        "created_by": s.created_by,
        "comment": s.comment,
    }


def _from_row(r: Any) -> Silence:
    matchers: Sequence[dict[str, Any]] = json.loads(r["matchers"])
    return Silence(
        matchers=tuple(_matcher_from_json(m) for m in matchers),
        starts_at=from_ms(int(r["starts_at"])),
        ends_at=from_ms(int(r["ends_at"])),
        id=r["id"],
        created_by=r["created_by"],
        comment=r["comment"],
        updated_at=from_ms(int(r["updated_at"])),
    )
