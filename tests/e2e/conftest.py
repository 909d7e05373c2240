"""Helpers for end-to-end tests: run ``sloguard serve`` as a real subprocess on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests._net import free_port as free_port  # re-exported for the e2e tests

READY_TIMEOUT_S = 60.0

E2E_CONFIG = """
global: {scrape_interval: 15s}
scrape_configs: []
storage:
  tsdb: {fsync: per_commit}
"""


def wait_until(check: object, timeout_s: float, what: str) -> None:
    """Poll ``check()`` until true (bounded); fail naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


class SloguardProcess:
    """One ``sloguard serve`` subprocess; stderr (the logs) goes to a file we can read."""

    def __init__(self, data_dir: Path, config: Path | None, log_path: Path) -> None:
        self.data_dir = data_dir
        self.config = config
        self.log_path = log_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.stdout = ""
        self.extra_args: list[str] = []
        #: httpx options for the readiness check (TLS trust, credentials) when a web config is used.
        self.client_options: dict[str, object] = {}

    def use_tls(self) -> None:
        """The server serves HTTPS (``--web.config.file`` with ``tls_server_config``)."""
        self.url = f"https://127.0.0.1:{self.port}"

    def start(self) -> SloguardProcess:
        cmd = [
            sys.executable, "-c", "from sloguard.cli import main; main()", "serve",
            *(["--config", str(self.config)] if self.config else []), "--data-dir", str(self.data_dir),
            "--listen", f"127.0.0.1:{self.port}", *self.extra_args,
        ]
        with self.log_path.open("ab") as err:
            self.proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=err, env={**os.environ, "PYTHONUNBUFFERED": "1"}
            )
        wait_until(self._ready, READY_TIMEOUT_S, f"sloguard on {self.url} to become ready")
        return self

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"sloguard exited with {self.proc.returncode}:\n{self.logs()}")
        try:
            r = httpx.get(f"{self.url}/-/ready", timeout=1.0, **self.client_options)  # type: ignore[arg-type]
            return r.status_code == 200
        except httpx.HTTPError:
            return False

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no flush, no shutdown code runs."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> int:
        """SIGTERM and wait; returns the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.stdout = self.proc.stdout.read().decode(errors="replace")
            self.proc.stdout.close()
        return self.proc.returncode


@pytest.fixture()
def sloguard_factory(tmp_path: Path) -> Iterator[object]:
    """``make(config_text=E2E_CONFIG) -> SloguardProcess`` (not started); all stopped at the end."""
    made: list[SloguardProcess] = []
    data_dir = tmp_path / "data"
    config = tmp_path / "sloguard.yml"

    def make(config_text: str | None = E2E_CONFIG) -> SloguardProcess:
        """``config_text=None`` runs with the bundled example config."""
        if config_text is not None:
            config.write_text(config_text)
        p = SloguardProcess(data_dir, config if config_text is not None else None, tmp_path / "sloguard.log")
        made.append(p)
        return p

    yield make
    for p in made:
        if p.proc is not None and p.proc.poll() is None:
            p.stop()


def requires_tsdb() -> pytest.MarkDecorator:
    import sloguard.tsdb

    return pytest.mark.skipif(
        not hasattr(sloguard.tsdb, "TSDB"), reason="the embedded TSDB (sloguard.tsdb.TSDB) is not available"
    )
