"""The schema and its ordered migrations.

The schema's version lives in ``sloguard_schema_version`` (one row per applied migration).
:func:`migrate` applies, in order and each in its own transaction, every migration newer
than that version; run twice it does nothing. A database whose version is newer than the
last migration here was written by newer code and is refused with :class:`SchemaError`.

A migration is explicit DDL for its version only: the ``Table`` objects below describe the
*current* schema (what the repositories query) and must change together with a new
migration; a released migration is never edited.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sloguard.state._db import Database
from sloguard.state._errors import SchemaError

metadata = sa.MetaData()

schema_version = sa.Table(
    "sloguard_schema_version",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("applied_at", sa.BigInteger, nullable=False),
)


def _v1_tables(md: sa.MetaData) -> tuple[sa.Table, ...]:
    silences = sa.Table(
        "silences",
        md,
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("matchers", sa.Text, nullable=False),  # JSON [{name, value, isRegex, isEqual}]
        sa.Column("starts_at", sa.BigInteger, nullable=False),
        sa.Column("ends_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Index("silences_ends_at", "ends_at"),
    )
    nflog = sa.Table(
        "nflog",
        md,
        *_receiver_key(),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("firing", sa.Text, nullable=False),  # JSON sorted list of alert hashes
        sa.Column("resolved", sa.Text, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.Index("nflog_expires_at", "expires_at"),
    )
    claims = sa.Table(
        "nflog_claims",
        md,
        *_receiver_key(),
        sa.Column("flush_id", sa.Text, primary_key=True),
        sa.Column("holder", sa.Text, nullable=False),
        sa.Column("claimed_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.Index("nflog_claims_expires_at", "expires_at"),
    )
    leases = sa.Table(
        "leases",
        md,
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("holder", sa.Text, nullable=False),
        sa.Column("acquired_at", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
    )
    return silences, nflog, claims, leases


def _receiver_key() -> list[sa.Column[object]]:
    """(group key, receiver name, integration name, integration index): Alertmanager's nflog key."""
    return [
        sa.Column("group_key", sa.Text, primary_key=True),
        sa.Column("receiver", sa.Text, primary_key=True),
        sa.Column("integration", sa.Text, primary_key=True),
        sa.Column("idx", sa.Integer, primary_key=True, autoincrement=False),
    ]


silences, nflog, nflog_claims, leases = _v1_tables(metadata)


def _members(md: sa.MetaData, name: str) -> sa.Table:
    """Replicas with heartbeats: the alerting peers (v2) and the cluster members (v5)."""
    return sa.Table(
        name,
        md,
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("joined_at", sa.BigInteger, nullable=False),
        sa.Column("last_seen", sa.BigInteger, nullable=False),
        sa.Column("expires_at", sa.BigInteger, nullable=False),
        sa.Index(f"{name}_expires_at", "expires_at"),
    )


def _v2_tables(md: sa.MetaData) -> tuple[sa.Table, ...]:
    return (_members(md, "peers"),)


(peers,) = _v2_tables(metadata)


def _v3_tables(md: sa.MetaData) -> tuple[sa.Table, ...]:
    rollouts = sa.Table(
        "rollouts",
        md,
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("revision", sa.BigInteger, nullable=False),
        sa.Column("phase", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),  # JSON, the controller's RolloutState
        sa.Column("updated_at", sa.BigInteger, nullable=False),
    )
    events = sa.Table(
        "rollout_events",
        md,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("rollout", sa.Text, nullable=False),
        sa.Column("time", sa.BigInteger, nullable=False),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Index("rollout_events_rollout", "rollout", "id"),
    )
    overrides = sa.Table(
        "rollout_overrides",
        md,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("rollout", sa.Text, nullable=False),
        sa.Column("time", sa.BigInteger, nullable=False),
        sa.Column("policy", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Index("rollout_overrides_rollout", "rollout", "id"),
    )
    return rollouts, events, overrides


rollouts, rollout_events, rollout_overrides = _v3_tables(metadata)


def _v4_tables(md: sa.MetaData) -> tuple[sa.Table, ...]:
    specs = sa.Table(
        "rollout_specs",
        md,
        sa.Column("name", sa.Text, primary_key=True),
        sa.Column("text", sa.Text, nullable=False),  # the YAML given at start, with its templates
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("stored_at", sa.BigInteger, nullable=False),
    )
    return (specs,)


(rollout_specs,) = _v4_tables(metadata)


def _v5_tables(md: sa.MetaData) -> tuple[sa.Table, ...]:
    return (_members(md, "cluster_members"),)


(cluster_members,) = _v5_tables(metadata)


def _v6_tables(md: sa.MetaData) -> tuple[sa.Table, ...]:
    history = sa.Table(
        "alert_history",
        md,
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("time", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),  # alert_fired, alert_resolved, silence_created, ...
        sa.Column("key", sa.Text, nullable=False),  # the alert's fingerprint (hex) or the silence's id
        sa.Column("labels", sa.Text, nullable=False),  # JSON: the alert's labels, or the silence's matchers
        sa.Column("starts_at", sa.BigInteger, nullable=False),
        sa.Column("ends_at", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.Text, nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("recorded_at", sa.BigInteger, nullable=False),
        sa.Index("alert_history_time", "time"),
        sa.Index("alert_history_once", "kind", "key", "time", unique=True),
    )
    return (history,)


(alert_history,) = _v6_tables(metadata)


def _creating(tables: Callable[[sa.MetaData], tuple[sa.Table, ...]]) -> Callable[[Connection], None]:
    """A migration that creates the tables ``tables`` defines (on a fresh MetaData, so the
    step keeps its own definition whatever later steps add)."""

    def apply(conn: Connection) -> None:
        for table in tables(sa.MetaData()):
            table.create(conn)

    return apply


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step: ``apply`` runs inside a transaction that also records ``version``."""

    version: int
    description: str
    apply: Callable[[Connection], None]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "silences, notification log, nflog claims, leases", _creating(_v1_tables)),
    Migration(2, "peers: the replicas sharing the store", _creating(_v2_tables)),
    Migration(3, "rollouts: state, events and policy overrides", _creating(_v3_tables)),
    Migration(4, "rollout specs: the text each rollout was started with", _creating(_v4_tables)),
    Migration(5, "cluster members: replicas sharing rule groups and rollouts", _creating(_v5_tables)),
    Migration(6, "alert history: alerts fired and resolved, silences created and expired", _creating(_v6_tables)),
)
"""Every migration, in order; versions are 1, 2, 3, ... without gaps."""


def current_version(conn: Connection) -> int:
    """The database's schema version (0 for an empty database)."""
    if not sa.inspect(conn).has_table(schema_version.name):
        return 0
    found = conn.execute(sa.select(sa.func.max(schema_version.c.version))).scalar_one()
    return int(found or 0)


def migrate(db: Database, migrations: tuple[Migration, ...] = MIGRATIONS) -> int:
    """Bring the schema up to the last of ``migrations``; the version it ends at."""
    known = migrations[-1].version if migrations else 0
    for step in migrations:
        with db.transaction() as conn:
            _lock(db, conn)
            schema_version.create(conn, checkfirst=True)
            version = current_version(conn)
            if version > known:
                raise SchemaError(
                    f"The state database {db.where} has schema version {version}, newer than "
                    f"the {known} this sloguard knows; it was written by a newer sloguard. "
                    "Run that version, or point state.url at another database."
                )
            if step.version > version:
                step.apply(conn)
                conn.execute(
                    schema_version.insert().values(
                        version=step.version, description=step.description, applied_at=db.now_ms(conn)
                    )
                )
    with db.transaction() as conn:
        return current_version(conn)


def _lock(db: Database, conn: Connection) -> None:
    """Serialize replicas migrating one PostgreSQL (SQLite's BEGIN IMMEDIATE already does)."""
    if db.dialect == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(7365727669636501)"))
