"""Silences, stored with Alertmanager 0.25's life cycle.

A silence is *pending* before ``starts_at``, *active* from ``starts_at`` to ``ends_at``
(both included) and *expired* after. :meth:`SilenceRepository.set` creates a silence (no
id) or updates one in place when Alertmanager would (same matchers; an active silence
keeps its start and does not end in the past; a pending one does not start in the past);
otherwise the old silence is expired and a new one with a new id replaces it. Expired
silences stay readable for a retention period, then :meth:`SilenceRepository.gc` removes
them.
"""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sloguard.labels import Matcher, MatchType, is_valid_label_name
from sloguard.state._db import Database
from sloguard.state._errors import InvalidSilence, NotFound
from sloguard.state._schema import silences as table

Clock = Callable[[], int]
"""Now, in UTC epoch milliseconds."""

_MATCH_TYPES = {
    (False, True): MatchType.EQUAL,
    (False, False): MatchType.NOT_EQUAL,
    (True, True): MatchType.REGEX,
    (True, False): MatchType.NOT_REGEX,
}


class SilenceState(enum.Enum):
    """Where a silence is in its life, with Alertmanager's names."""

    PENDING = "pending"
    ACTIVE = "active"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class SilenceMatcher:
    """One matcher of a silence, in Alertmanager's v2 form (``isRegex``, ``isEqual``)."""

    name: str
    value: str
    is_regex: bool = False
    is_equal: bool = True

    def to_matcher(self) -> Matcher:
        """The label matcher (regexes anchored, RE2); ValueError for a bad regex."""
        return Matcher(_MATCH_TYPES[(self.is_regex, self.is_equal)], self.name, self.value)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "isRegex": self.is_regex, "isEqual": self.is_equal}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> SilenceMatcher:
        return cls(str(d["name"]), str(d["value"]), bool(d.get("isRegex", False)), bool(d.get("isEqual", True)))


@dataclass(frozen=True, slots=True)
class Silence:
    """A silence; times are UTC epoch milliseconds; ``id`` is empty until it is stored."""

    matchers: tuple[SilenceMatcher, ...]
    starts_at: int
    ends_at: int
    created_by: str = ""
    comment: str = ""
    id: str = ""
    updated_at: int = 0

    def state(self, now: int) -> SilenceState:
        """Pending before ``starts_at``, expired after ``ends_at``, active in between."""
        if now < self.starts_at:
            return SilenceState.PENDING
        if now > self.ends_at:
            return SilenceState.EXPIRED
        return SilenceState.ACTIVE


def validate(s: Silence) -> None:
    """Alertmanager's checks of a silence; :class:`InvalidSilence` names the first failure."""
    if not s.matchers:
        raise InvalidSilence("The silence has no matchers: at least one matcher required.")
    for i, m in enumerate(s.matchers):
        if not is_valid_label_name(m.name):
            raise InvalidSilence(f"Invalid label matcher {i}: invalid label name {m.name!r}.")
        try:
            m.to_matcher()
        except ValueError as e:
            raise InvalidSilence(f"Invalid label matcher {i}: {e}.") from None
    if all(_matches_empty(m) for m in s.matchers):
        shown = ", ".join(str(m.to_matcher()) for m in s.matchers)
        raise InvalidSilence(
            f"Every matcher of the silence ({shown}) matches the empty string: "
            "at least one matcher must not match the empty string."
        )
    if s.ends_at < s.starts_at:
        raise InvalidSilence(
            f"The silence's end time {s.ends_at} is before its start time {s.starts_at}: "
            "end time must not be before start time."
        )


def _matches_empty(m: SilenceMatcher) -> bool:
    """Alertmanager's test: only ``=`` and ``=~`` matchers can match the empty string."""
    return m.is_equal and m.to_matcher().matches("")


def can_update(prev: Silence, new: Silence, now: int) -> bool:
    """Whether ``new`` may overwrite ``prev`` in place (else: expire ``prev``, create anew).

    As Alertmanager, an active silence's start is compared to the second.
    """
    if prev.matchers != new.matchers:
        return False
    state = prev.state(now)
    if state is SilenceState.ACTIVE:
        return new.starts_at // 1000 == prev.starts_at // 1000 and not new.ends_at < now
    if state is SilenceState.PENDING:
        return not new.starts_at < now
    return False


class SilenceRepository:
    """Silences in the state database; each write is committed before it returns."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def set(self, silence: Silence) -> str:
        """Create (empty id) or update a silence; the id it is stored under.

        Raises :class:`NotFound` for an id that does not exist and :class:`InvalidSilence`
        for a silence Alertmanager would refuse.
        """
        validate(silence)
        now = self._clock()
        with self._db.transaction() as conn:
            prev = self._get(conn, silence.id, lock=True) if silence.id else None
            if silence.id and prev is None:
                raise NotFound(f"There is no silence with id {silence.id!r} to update.")
            if prev is not None and can_update(prev, silence, now):
                self._write(conn, replace(silence, updated_at=now), insert=False)
                return silence.id
            if prev is not None and prev.state(now) is not SilenceState.EXPIRED:
                self._write(conn, _expired(prev, now), insert=False)
            new = replace(silence, id=str(uuid.uuid4()), starts_at=max(silence.starts_at, now), updated_at=now)
            validate(new)  # a start moved up to now may now be after the end: refused, nothing written
            self._write(conn, new, insert=True)
            return new.id

    def expire(self, silence_id: str) -> Silence:
        """End a silence now (a pending one never starts); the silence as stored.

        Raises :class:`NotFound` for an unknown id. An already expired silence is left as
        it is and returned (Alertmanager 0.25 answers that expire with success too).
        """
        now = self._clock()
        with self._db.transaction() as conn:
            prev = self._get(conn, silence_id, lock=True)
            if prev is None:
                raise NotFound(f"There is no silence with id {silence_id!r} to expire.")
            if prev.state(now) is SilenceState.EXPIRED:
                return prev
            expired = _expired(prev, now)
            self._write(conn, expired, insert=False)
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
        now = self._clock()
        query = sa.select(table).order_by(table.c.starts_at, table.c.id)
        with self._db.transaction() as conn:
            rows = conn.execute(query).mappings().all()
        found = [_from_row(r) for r in rows]
        return [s for s in found if wanted is None or s.state(now) in wanted]

    def gc(self, retention_ms: int) -> int:
        """Remove silences that ended ``retention_ms`` ago or earlier; how many."""
        cutoff = self._clock() - retention_ms
        with self._db.transaction() as conn:
            return int(conn.execute(table.delete().where(table.c.ends_at <= cutoff)).rowcount)

    def _get(self, conn: Connection, silence_id: str, *, lock: bool) -> Silence | None:
        query = sa.select(table).where(table.c.id == silence_id)
        if lock:
            query = query.with_for_update()
        row = conn.execute(query).mappings().first()
        return _from_row(row) if row is not None else None

    def _write(self, conn: Connection, s: Silence, *, insert: bool) -> None:
        values = _to_row(s)
        if insert:
            conn.execute(table.insert().values(values))
        else:
            conn.execute(table.update().where(table.c.id == s.id).values(values))


def _expired(s: Silence, now: int) -> Silence:
    if s.state(now) is SilenceState.PENDING:
        return replace(s, starts_at=now, ends_at=now, updated_at=now)
    return replace(s, ends_at=now, updated_at=now)


def _to_row(s: Silence) -> dict[str, Any]:
    return {
        "id": s.id,
        "matchers": json.dumps([m.to_json() for m in s.matchers]),
        "starts_at": s.starts_at,
        "ends_at": s.ends_at,
        "updated_at": s.updated_at,
        "created_by": s.created_by,
        "comment": s.comment,
    }


def _from_row(r: Any) -> Silence:
    matchers: Sequence[dict[str, Any]] = json.loads(r["matchers"])
    return Silence(
        matchers=tuple(SilenceMatcher.from_json(m) for m in matchers),
        starts_at=int(r["starts_at"]),
        ends_at=int(r["ends_at"]),
        created_by=r["created_by"],
        comment=r["comment"],
        id=r["id"],
        updated_at=int(r["updated_at"]),
    )
