"""Rollouts: each rollout's state (the controller's, kept as JSON), its events and the
policy overrides people forced.

Saving is a compare-and-set on the revision: :meth:`RolloutRepository.save` writes a
record only if the stored revision is still the one the caller read (0: not stored yet),
and the events of that transition go in the same transaction; two controllers (or a
controller and a person's ``abort``) never overwrite each other silently, the loser gets
:class:`RevisionConflict`, reads again and retries. This package knows nothing of the
controller's model: ``state`` is the JSON-safe dict the controller gives it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from sloguard.state._db import Database
from sloguard.state._errors import StateError
from sloguard.state._schema import rollout_events as events_table
from sloguard.state._schema import rollout_overrides as overrides_table
from sloguard.state._schema import rollout_specs as specs_table
from sloguard.state._schema import rollouts as table


class RevisionConflict(StateError):
    """The rollout changed since it was read (another writer saved first); read it again."""

    retryable = True


@dataclass(frozen=True, slots=True)
class RolloutRecord:
    """A rollout as stored: ``revision`` counts its saves (1 after the first), ``phase`` is
    its phase's name (for listing without reading ``state``), ``updated_at`` UTC epoch ms."""

    name: str
    revision: int
    phase: str
    state: dict[str, Any] = field(hash=False)
    updated_at: int


@dataclass(frozen=True, slots=True)
class RolloutEvent:
    """One transition of a rollout: when, its ``type`` (``RolloutAborted``...), a
    machine-readable ``reason``, a sentence, and who caused it (``controller`` or a person)."""

    rollout: str
    time: int
    type: str
    reason: str
    message: str
    actor: str = "controller"


@dataclass(frozen=True, slots=True)
class Override:
    """A policy a person overrode for a rollout (``policy``: e.g. ``errorBudget``), who and why."""

    rollout: str
    time: int
    policy: str
    actor: str
    reason: str


class RolloutRepository:
    """Rollouts in the state database; each operation is committed before it returns."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def save(self, record: RolloutRecord, events: Sequence[RolloutEvent] = ()) -> RolloutRecord:
        """Store ``record`` if the stored revision is still ``record.revision`` (0: none
        stored), with ``events``; the record as saved (revision + 1). RevisionConflict if not."""
        new = RolloutRecord(record.name, record.revision + 1, record.phase, record.state, record.updated_at)
        values = {"revision": new.revision, "phase": new.phase, "state": _dump(new.name, new.state), "updated_at": new.updated_at}
        with self._db.transaction() as conn:
            if record.revision == 0:
                stmt = self._db.insert(table).values(name=new.name, **values).on_conflict_do_nothing()
            else:
                stmt = table.update().where(table.c.name == new.name, table.c.revision == record.revision).values(**values)
            if conn.execute(stmt.returning(table.c.revision)).first() is None:
                raise RevisionConflict(_conflict(record, self._stored_revision(conn, record.name)))
            for e in events:
                conn.execute(events_table.insert().values(**_event_row(e, new.name)))
        return new

    def _stored_revision(self, conn: sa.Connection, name: str) -> int | None:
        return conn.execute(sa.select(table.c.revision).where(table.c.name == name)).scalar()

    def get(self, name: str) -> RolloutRecord | None:
        """The rollout named ``name``, or None."""
        with self._db.transaction() as conn:
            row = conn.execute(sa.select(table).where(table.c.name == name)).mappings().first()
        return _record(row) if row is not None else None

    def append_event(self, event: RolloutEvent) -> None:
        """Record an event outside a save (a refused start, a person's note)."""
        with self._db.transaction() as conn:
            conn.execute(events_table.insert().values(**_event_row(event, event.rollout)))

    def events(self, rollout: str, limit: int | None = None) -> list[RolloutEvent]:
        """The rollout's events, oldest first (the last ``limit`` when given)."""
        stmt = sa.select(events_table).where(events_table.c.rollout == rollout).order_by(events_table.c.id.desc())
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._db.transaction() as conn:
            rows = conn.execute(stmt).mappings().all()
        return [RolloutEvent(r["rollout"], int(r["time"]), r["type"], r["reason"], r["message"], r["actor"])
                for r in reversed(rows)]

    def record_override(self, override: Override) -> None:
        """Keep who forced what and why."""
        o = override
        with self._db.transaction() as conn:
            conn.execute(overrides_table.insert().values(
                rollout=o.rollout, time=o.time, policy=o.policy, actor=o.actor, reason=o.reason))

    def overrides(self, rollout: str) -> list[Override]:
        """The rollout's overrides, oldest first."""
        stmt = sa.select(overrides_table).where(overrides_table.c.rollout == rollout).order_by(overrides_table.c.id)
        with self._db.transaction() as conn:
            rows = conn.execute(stmt).mappings().all()
        return [Override(r["rollout"], int(r["time"]), r["policy"], r["actor"], r["reason"]) for r in rows]

    def save_spec(self, name: str, text: str, source: str, now_ms: int) -> None:
        """Keep the spec text a rollout was started with (its templates included), replacing
        an earlier one of that name, so a restarted server rebuilds the rollout's plan."""
        values = {"text": text, "source": source, "stored_at": now_ms}
        with self._db.transaction() as conn:
            stmt = self._db.insert(specs_table).values(name=name, **values)
            conn.execute(stmt.on_conflict_do_update(index_elements=[specs_table.c.name], set_=values))

    def spec(self, name: str) -> tuple[str, str] | None:
        """The spec text and its source the rollout ``name`` was started with, or None."""
        with self._db.transaction() as conn:
            row = conn.execute(sa.select(specs_table.c.text, specs_table.c.source)
                               .where(specs_table.c.name == name)).first()
        return (str(row[0]), str(row[1])) if row is not None else None

    def list(self) -> list[RolloutRecord]:
        """Every rollout, by name."""
        with self._db.transaction() as conn:
            rows = conn.execute(sa.select(table).order_by(table.c.name)).mappings().all()
        return [_record(r) for r in rows]


def _conflict(record: RolloutRecord, stored: int | None) -> str:
    if record.revision == 0:
        return f"The rollout {record.name!r} already exists (revision {stored}); it cannot be created again."
    now = "no longer exists" if stored is None else f"is at revision {stored}"
    return (f"The rollout {record.name!r} was read at revision {record.revision} but {now}; "
            "another writer saved it first. Read it again and retry.")


def _dump(name: str, state: dict[str, Any]) -> str:
    try:
        return json.dumps(state, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as e:
        raise StateError(f"The state of the rollout {name!r} cannot be stored as JSON: {e}.") from e


def _event_row(e: RolloutEvent, rollout: str) -> dict[str, Any]:
    return {"rollout": rollout, "time": e.time, "type": e.type, "reason": e.reason, "message": e.message, "actor": e.actor}


def _record(row: Any) -> RolloutRecord:
    return RolloutRecord(row["name"], int(row["revision"]), row["phase"], json.loads(row["state"]), int(row["updated_at"]))
