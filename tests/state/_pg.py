"""A throwaway PostgreSQL cluster for the state tests: initdb in a temporary directory,
pg_ctl on a free loopback port and a private socket directory, stopped at teardown.

initdb refuses to run as root; as root the cluster is created and run as the
``postgres`` user (Debian's package creates it).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests._net import free_port


def find_bin(name: str) -> str | None:
    """``name`` on PATH, else in Debian's /usr/lib/postgresql/<version>/bin (newest first)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_version, reverse=True)
    return candidates[0] if candidates else None


def _version(path: str) -> int:
    part = Path(path).parent.parent.name
    return int(part) if part.isdigit() else 0


def unavailable_reason() -> str | None:
    """Why a cluster cannot be started here (None: it can)."""
    if find_bin("initdb") is None or find_bin("pg_ctl") is None:
        return "initdb/pg_ctl not found (install the postgresql package: scripts/install-peers)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user for initdb to run as"
    return None


class PgCluster:
    """One running cluster; :meth:`empty_database` gives each test an empty database."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="sloguard-pg-"))
        self.data = self.root / "data"
        self.sock = self.root / "sock"
        self.sock.mkdir()
        self.port = free_port()
        self._user = _run_as()
        if self._user is not None:
            uid, gid = self._user
            for p in (self.root, self.sock):
                os.chown(p, uid, gid)
        self._created = False
        self._run(find_bin("initdb"), "-D", str(self.data), "-U", "sloguard", "-A", "trust",
                  "--no-sync", "-E", "UTF8")
        self.start()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://sloguard@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1"
        self._run(find_bin("pg_ctl"), "-D", str(self.data), "-o", opts, "-l",
                  str(self.root / "log"), "-w", "start")

    def stop(self) -> None:
        self._run(find_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def empty_database(self) -> str:
        """The URL of the test database, emptied (its schema dropped and created again:
        much faster than CREATE DATABASE, which copies and syncs a template)."""
        import psycopg

        dsn = f"host=127.0.0.1 port={self.port} user=sloguard dbname=postgres"
        with psycopg.connect(dsn, autocommit=True) as conn:
            if not self._created:
                conn.execute("CREATE DATABASE state")
                self._created = True
        with psycopg.connect(dsn.replace("dbname=postgres", "dbname=state"), autocommit=True) as conn:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")
        return self.url("state")

    def destroy(self) -> None:
        try:
            self.stop()
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, *argv: str | None) -> None:
        cmd = [a for a in argv if a is not None]
        if self._user is not None:
            uid, gid = self._user
            cmd = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, cwd=self.root)
        if done.returncode != 0:
            log = self.root / "log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr}{tail}")


def _run_as() -> tuple[int, int] | None:
    if os.geteuid() != 0:
        return None
    pw = pwd.getpwnam("postgres")
    return pw.pw_uid, pw.pw_gid
