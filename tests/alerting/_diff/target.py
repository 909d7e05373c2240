"""What the differential harness runs against: a server speaking Alertmanager's v2 API.

A :class:`Target` knows how to build the command line that starts it (given the
Alertmanager config file, a port and a data directory) and where it reports readiness.
Two exist: the real Alertmanager 0.25 and ``sloguard serve --alerting.config``;
everything else in the harness talks HTTP only, so either is one parameter away.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests._net import free_port

#: (config file, port, data dir) -> argv.
CommandBuilder = Callable[[Path, int, Path], list[str]]

SERVER_CONFIG = "global:\n  scrape_interval: 15s\nscrape_configs: []\n"


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    command: CommandBuilder
    ready_path: str = "/-/ready"
    missing: str | None = None  # why it cannot run here (None: it can)


@dataclass(frozen=True, slots=True)
class Running:
    """A started target: its base URL and the server process (for RSS figures)."""

    url: str
    proc: subprocess.Popen[bytes]
    log: Path = field(repr=False)


def alertmanager_target() -> Target:
    binary = shutil.which("prometheus-alertmanager")

    def command(config: Path, port: int, data: Path) -> list[str]:
        return [binary or "prometheus-alertmanager", f"--config.file={config}", f"--storage.path={data}",
                f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=", "--log.level=warn"]

    missing = None if binary else "prometheus-alertmanager 0.25 is not installed"
    return Target("alertmanager", command, missing=missing)


def sloguard_target(state_url: str | None = None, name: str = "sloguard", alerting: bool = True) -> Target:
    """``sloguard serve`` with the Alertmanager config as ``--alerting.config`` (state in
    ``state_url`` when given, else SQLite in the data directory); ``alerting=False``
    leaves the flag out (the config file is then unused)."""

    def command(config: Path, port: int, data: Path) -> list[str]:
        server = config.with_name("sloguard-server.yml")
        server.write_text(SERVER_CONFIG)
        argv = [sys.executable, "-m", "sloguard.cli", "serve", "--config.file", str(server),
                "--storage.tsdb.path", str(data), "--web.listen-address", f"127.0.0.1:{port}", "--log.level", "warn"]
        argv += ["--alerting.config", str(config)] if alerting else []
        return argv + (["--state.url", state_url] if state_url else [])

    return Target(name, command)


@contextmanager
def running(target: Target, config_text: str, workdir: Path, timeout_s: float = 120.0) -> Iterator[Running]:
    """Start ``target`` with ``config_text`` as its Alertmanager config in ``workdir`` and
    yield it once its readiness URL answers 200; stop it afterwards."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "am.yml"
    config.write_text(config_text)
    port = free_port()
    log = workdir / f"{target.name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(target.command(config, port, workdir / "data"), stdout=out, stderr=out)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(target, url, proc, log, timeout_s)
        yield Running(url, proc, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_ready(target: Target, url: str, proc: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    with httpx.Client(base_url=url, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                tail = log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{target.name} exited with {proc.returncode} before it was ready: {tail}")
            try:
                if client.get(target.ready_path).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
    raise RuntimeError(f"{target.name} did not answer 200 on {target.ready_path} within {timeout_s:.0f} s; see {log}")


def alerting_api_missing(workdir: Path) -> str | None:
    """Why sloguard cannot be a differential target yet (None: it can): ``sloguard serve``
    is started without an alerting config and asked for ``GET /api/v2/status``."""
    return status_missing(sloguard_target(name="sloguard-probe", alerting=False), "", workdir)


def status_missing(target: Target, config_text: str, workdir: Path) -> str | None:
    """The skip reason when ``target`` (started with ``config_text``) does not answer
    ``GET /api/v2/status`` with 200, else None."""
    with running(target, config_text, workdir) as server:
        status = httpx.get(f"{server.url}/api/v2/status", timeout=5.0).status_code
    return None if status == 200 else "sloguard's alerting pipeline is not wired into serve yet"
