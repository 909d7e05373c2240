"""open_store: URLs, SQLite settings, durability, crashes, migrations, an unreachable database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from sloguard.state import (
    MIGRATIONS,
    Migration,
    NflogReceiver,
    NotFound,
    SchemaError,
    Silence,
    SilenceMatcher,
    SqlStateStore,
    StateStore,
    StateUnavailable,
    StateURLError,
    open_store,
)
from sloguard.state._db import SQLITE_BUSY_TIMEOUT_MS, Database, create_engine, parse_url
from sloguard.state._schema import migrate, schema_version
from tests._net import free_port
from tests.state._pg import PgCluster

EPOCH, FAR = datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC)

ROOT = Path(__file__).resolve().parents[2]
HOOK = NflogReceiver("team", "webhook", 0)


def test_the_default_is_a_sqlite_file_in_wal_mode_with_full_sync(tmp_path: Path) -> None:
    with open_store(data_dir=tmp_path / "data") as store:
        assert store.dialect == "sqlite"
        with store._db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == SQLITE_BUSY_TIMEOUT_MS
    assert (tmp_path / "data" / "state.db").is_file()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://u@h/db", "names the database 'mysql'"),
        ("sqlite://", "names no SQLite file"),
        ("sqlite:///:memory:", "names no SQLite file"),
        ("not a url", "is not a database URL"),
    ],
)
def test_bad_urls_are_refused_with_the_url_in_the_message(url: str, message: str) -> None:
    with pytest.raises(StateURLError, match=message):
        open_store(url)


def test_an_unreachable_postgresql_is_unavailable_and_the_password_is_hidden() -> None:
    url = f"postgresql://me:hunter2@127.0.0.1:{free_port()}/state"
    with pytest.raises(StateUnavailable, match="unavailable") as err:
        open_store(url)
    assert "hunter2" not in str(err.value) and "127.0.0.1" in str(err.value)
    assert err.value.retryable


def _as_protocol(store: SqlStateStore) -> StateStore:
    return store  # mypy checks that SqlStateStore satisfies the StateStore protocol


def test_every_kind_survives_a_reopen(store_url: str) -> None:
    with open_store(store_url) as opened:
        store = _as_protocol(opened)
        sid = store.silences.set(Silence((SilenceMatcher("a", "b.*", True),), EPOCH, FAR, created_by="me", comment="c"))
        store.nflog.log(HOOK, "g", [1, 2], [3], expires_at=2**60)
        assert store.nflog.claim(HOOK, "g", "f", "r1", expires_at=2**60)
        lease = store.leases.acquire("sender", "r1", 3_600_000)
        silence = store.silences.get(sid)
    with open_store(store_url) as store:
        assert store.silences.get(sid) == silence
        entry = store.nflog.query(HOOK, "g")
        assert entry is not None and (entry.firing, entry.resolved) == ((1, 2), (3,))
        assert store.nflog.claim_holder(HOOK, "g", "f") == "r1"
        assert store.leases.get("sender") == lease


def test_a_write_committed_before_a_sigkill_is_kept_and_the_next_one_is_not(store_url: str) -> None:
    open_store(store_url).close()  # migrate first, so the child only writes
    env = os.environ | {"PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.state._crash_writer", store_url],
        stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT,
    )
    try:
        assert child.stdout is not None
        sid = child.stdout.readline().strip()
        assert child.stdout.readline().strip() == "MID"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    with open_store(store_url) as store:
        assert store.silences.get(sid).matchers == (SilenceMatcher("job", "api"),)
        with pytest.raises(NotFound):
            store.silences.get("uncommitted")


def _versions(store_url: str) -> list[int]:
    engine = sa.create_engine(store_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.select(schema_version.c.version)).scalars())
    finally:
        engine.dispose()


def test_migrations_are_applied_once_and_a_newer_schema_is_refused(store_url: str) -> None:
    last = MIGRATIONS[-1].version
    with open_store(store_url) as store:
        assert store.schema_version == last
    with open_store(store_url) as store:
        db = store._db
        assert migrate(db) == last
        applied: list[int] = []
        later = Migration(last + 1, "a later step", lambda conn: applied.append(last + 1))
        assert migrate(db, (*MIGRATIONS, later)) == last + 1
        assert migrate(db, (*MIGRATIONS, later)) == last + 1
        assert applied == [last + 1]
    assert sorted(_versions(store_url)) == list(range(1, last + 2))
    with pytest.raises(SchemaError, match=f"schema version {last + 1}, newer than the {last} this sloguard knows"):
        open_store(store_url)


def test_an_old_database_is_migrated_step_by_step(store_url: str) -> None:
    """A database made by the first release gets every later migration, in order, on open."""
    db = Database(create_engine(parse_url(store_url)))
    try:
        assert migrate(db, MIGRATIONS[:1]) == 1
    finally:
        db.close()
    with open_store(store_url) as store:
        assert store.schema_version == MIGRATIONS[-1].version
        assert store.peers.live() == []
    assert sorted(_versions(store_url)) == [m.version for m in MIGRATIONS]


def test_a_postgresql_that_goes_away_is_unavailable_until_it_comes_back(pg_cluster: PgCluster) -> None:
    with open_store(pg_cluster.empty_database()) as store:
        sid = store.silences.set(Silence((SilenceMatcher("a", "b"),), EPOCH, FAR))
        pg_cluster.stop()
        try:
            with pytest.raises(StateUnavailable, match="is unavailable"):
                store.silences.get(sid)
            with pytest.raises(StateUnavailable):
                store.nflog.claim(HOOK, "g", "f", "r1", expires_at=2**60)
        finally:
            pg_cluster.start()
        assert store.silences.get(sid).matchers == (SilenceMatcher("a", "b"),)
        assert store.nflog.claim(HOOK, "g", "f", "r1", expires_at=2**60)
