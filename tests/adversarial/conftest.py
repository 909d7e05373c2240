"""The attacker suite's harness: a real ``sloguard serve`` subprocess on 127.0.0.1, a health
poller, remote-write helpers, acknowledged-sample bookkeeping and /proc readings.

Every flag and config key added by the hardening work (issue 8) is named once, in
``FLAGS`` and ``KEYS`` below, so a rename is one edit. ``ADV_HARNESS_CHECK=1`` drops the
flags ``sloguard serve --help`` does not list and the config keys in ``NEW_KEYS``, so the
harness itself can be exercised on a build that lacks them (the attacks then still fail).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests._net import free_port
from tests.adversarial._samples import Acked as Acked
from tests.adversarial._samples import Series as Series
from tests.adversarial._wire import cpu_seconds as cpu_seconds
from tests.adversarial._wire import metric_values as metric_values
from tests.adversarial._wire import numbers_under as numbers_under
from tests.adversarial._wire import open_fds as open_fds
from tests.adversarial._wire import proc_status_kb, reset_peak_rss
from tests.adversarial._wire import raw_post as raw_post

# ---- names that the merged hardening branches define (one place to adjust) -----------------
FLAGS: dict[str, str] = {
    "query_timeout": "--query.timeout",
    "max_samples": "--query.max-samples",
    "max_concurrency": "--query.max-concurrency",
    "lookback_delta": "--query.lookback-delta",
    "web_config": "--web.config.file",
    "enable_lifecycle": "--web.enable-lifecycle",
    "enable_admin": "--web.enable-admin-api",
    "max_connections": "--web.max-connections",
    "read_timeout": "--web.read-timeout",
    "read_header_timeout": "--web.read-header-timeout",  # how long a client may take to send its headers
    # how often the server compacts and loads new blocks (default 1m); not a Prometheus flag, and
    # optional: without it the import test waits for the default minute
    "maintenance_interval": "--storage.tsdb.maintenance-interval",
}
#: The keys of ``/api/v1/status/flags`` for the flags above (Prometheus drops the leading "--").
FLAG_STATUS_KEY = {k: v.removeprefix("--") for k, v in FLAGS.items()}
KEYS: dict[str, tuple[str, ...]] = {
    "query_max_body": ("query", "max_body_bytes"),
    "rw_max_body": ("remote_write_receiver", "max_body_bytes"),
    "rw_max_decompressed": ("remote_write_receiver", "max_decompressed_bytes"),
    "rw_label_name_limit": ("remote_write_receiver", "label_name_length_limit"),
}
#: Config keys a build without the hardening work rejects (dropped in ADV_HARNESS_CHECK mode).
NEW_KEYS = ("query_max_body", "rw_max_decompressed", "rw_label_name_limit")
# ---- Prometheus' wording ----------------------------------------------------------------------
PARSE_ERROR = "parse error"  # every PromQL parse error of Prometheus contains this
TOO_MANY_SAMPLES = "query processing would load too many samples into memory"
TIMEOUT_ERROR = "query timed out"
LIFECYCLE_DISABLED = "Lifecycle API is not enabled."
DEGRADED_WORDS = ("degraded", "quarantin")  # what /-/ready or the log says about a bad block
# ---- bounds ----------------------------------------------------------------------------------
READY_TIMEOUT_S = 30.0
HEALTH_BUDGET_S = 1.0
#: Polls that may answer 200 late (within twice the budget): scheduler noise on a shared
#: 2-core machine. A stalled server fails many polls; an error or no answer is never allowed.
HEALTH_SLACK_POLLS = 1
HTTP_TIMEOUT_S = 10.0
#: Any attack: the server's peak RSS may rise at most this much above its level before it.
ATTACK_RSS_MB = 256.0
RW_HEADERS = {
    "Content-Type": "application/x-protobuf",
    "Content-Encoding": "snappy",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
}
BASE_CONFIG: dict[str, Any] = {"global": {"scrape_interval": "15s"}, "scrape_configs": []}


def harness_check() -> bool:
    return os.environ.get("ADV_HARNESS_CHECK") == "1"


@functools.cache
def supported_flags() -> frozenset[str]:
    """The long options ``sloguard serve --help`` lists."""
    out = subprocess.run(
        [sys.executable, "-c", "from sloguard.cli import main; main()", "serve", "--help"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "250"},
    ).stdout
    return frozenset(re.findall(r"--[a-z][a-z0-9.\-]*", out))


def flag_args(**settings: str | int | bool) -> list[str]:
    """``flag_args(query_timeout="2s", enable_lifecycle=True)`` -> command-line arguments."""
    args: list[str] = []
    for key, value in settings.items():
        name = FLAGS[key]
        if harness_check() and name not in supported_flags():
            continue
        if value is True:
            args.append(name)
        elif value is not False:
            args += [name, str(value)]
    return args


def config_text(extra: Mapping[str, Any] | None = None, **keys: Any) -> str:
    """YAML config: ``BASE_CONFIG`` merged with ``extra``, plus ``KEYS`` entries by short name."""
    conf: dict[str, Any] = json.loads(json.dumps(BASE_CONFIG))
    for k, v in (extra or {}).items():
        conf[k] = v
    for short, value in keys.items():
        if harness_check() and short in NEW_KEYS:
            continue
        section, key = KEYS[short]
        conf.setdefault(section, {})[key] = value
    return yaml.safe_dump(conf, sort_keys=False)


def wait_until(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


# ---- the server -----------------------------------------------------------------------------
class Server:
    """One ``sloguard serve`` subprocess; stderr (the log) goes to a file."""

    def __init__(self, tmp: Path, config: str, args: list[str], auth: tuple[str, str] | None = None) -> None:
        self.data_dir = tmp / "data"
        self.config_path = tmp / "sloguard.yml"
        self.config_path.write_text(config)
        self.log_path = tmp / "sloguard.log"
        self.args = args
        self.auth = auth
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def command(self) -> list[str]:
        return [
            sys.executable, "-c", "from sloguard.cli import main; main()", "serve",
            "--config", str(self.config_path), "--data-dir", str(self.data_dir),
            "--listen", f"127.0.0.1:{self.port}", *self.args,
        ]

    def spawn(self) -> Server:
        with self.log_path.open("ab") as err:
            self.proc = subprocess.Popen(
                self.command(), stdout=subprocess.DEVNULL, stderr=err,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        return self

    def start(self) -> Server:
        self.spawn()
        wait_until(self.is_up, READY_TIMEOUT_S, f"sloguard on {self.url} to open its storage")
        return self

    def is_up(self) -> bool:
        """Storage open: /-/ready is 200, or it answers that the server is degraded."""
        self.assert_alive()
        try:
            r = self.client(timeout=1.0).get("/-/ready")
        except httpx.HTTPError:
            return False
        return r.status_code == 200 or any(w in r.text.lower() for w in DEGRADED_WORDS)

    def client(self, timeout: float = HTTP_TIMEOUT_S, auth: bool = True) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=timeout, auth=self.auth if auth else None)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def assert_alive(self) -> None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"sloguard exited with {self.proc.returncode}; log tail:\n{self.log_tail()}")

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, n: int = 30) -> str:
        return "\n".join(self.logs().splitlines()[-n:])

    def stop(self, timeout_s: float = 15.0) -> int:
        """SIGTERM, then SIGKILL after ``timeout_s``; the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        return self.proc.returncode

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def rss_mb(self) -> float:
        return proc_status_kb(self.pid, "VmRSS") / 1024

    def hwm_mb(self) -> float:
        return proc_status_kb(self.pid, "VmHWM") / 1024

    # -- HTTP helpers
    def get_json(self, path: str, **params: Any) -> tuple[int, dict[str, Any]]:
        with self.client() as c:
            r = c.get(path, params=params)
        return r.status_code, _json(r)

    def query(self, expr: str, at: float, **extra: Any) -> tuple[int, dict[str, Any]]:
        return self.get_json("/api/v1/query", query=expr, time=f"{at:.3f}", **extra)

    def write(self, body: bytes, timeout: float = HTTP_TIMEOUT_S) -> httpx.Response:
        with self.client(timeout=timeout) as c:
            return c.post("/api/v1/write", content=body, headers=RW_HEADERS)


def _json(r: httpx.Response) -> dict[str, Any]:
    try:
        out = r.json()
    except ValueError:
        return {"raw": r.text}
    return out if isinstance(out, dict) else {"raw": out}


@pytest.fixture()
def make_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """``make_server(config=..., args=[...], start=True)``; every server is killed at teardown."""
    made: list[Server] = []

    def make(config: str | None = None, args: list[str] | None = None, start: bool = True,
             auth: tuple[str, str] | None = None, subdir: str = "s") -> Server:
        d = tmp_path / subdir
        d.mkdir(exist_ok=True)
        s = Server(d, config if config is not None else config_text(), args or [], auth)
        made.append(s)
        return s.start() if start else s

    yield make
    for s in made:
        if s.alive():
            s.stop(timeout_s=5.0)


# ---- health during an attack -----------------------------------------------------------------
@dataclass
class HealthWatch:
    """Polls ``/-/healthy`` from a thread; every answer must be a 200 within ``HEALTH_BUDGET_S``."""

    server: Server
    interval_s: float = 0.1
    failures: list[str] = field(default_factory=list)
    polls: int = 0
    worst_s: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _t0: float = 0.0

    def __enter__(self) -> HealthWatch:
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True, name="health-watch")
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        deadline = time.monotonic() + HEALTH_BUDGET_S + 1
        while self.polls == 0 and time.monotonic() < deadline:  # a quick attack still gets one poll
            time.sleep(0.02)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=HEALTH_BUDGET_S + 2)

    def _run(self) -> None:
        with self.server.client(timeout=2 * HEALTH_BUDGET_S) as c:
            while not self._stop.is_set():
                self._poll(c)
                self._stop.wait(self.interval_s)

    def _poll(self, c: httpx.Client) -> None:
        t0 = time.monotonic()
        try:
            status = c.get("/-/healthy").status_code
        except httpx.HTTPError as e:
            status, detail = 0, f"{type(e).__name__}"
        else:
            detail = f"HTTP {status}"
        took = time.monotonic() - t0
        self.polls += 1
        self.worst_s = max(self.worst_s, took)
        if status != 200 or took > HEALTH_BUDGET_S:
            self.failures.append(f"/-/healthy at +{t0 - self._t0:.1f}s: {detail} after {took:.2f}s")

    def assert_ok(self) -> None:
        assert self.polls > 0, "the health poller never ran"
        late = [f for f in self.failures if ": HTTP 200 after " in f]
        hard = [f for f in self.failures if f not in late]
        assert not hard and len(late) <= HEALTH_SLACK_POLLS, (
            f"{len(self.failures)} of {self.polls} health checks failed or took over "
            f"{HEALTH_BUDGET_S}s (worst {self.worst_s:.2f}s): {self.failures[:5]}"
        )


def assert_healthy(server: Server, tries: int = 1 + HEALTH_SLACK_POLLS) -> None:
    """Alive, and ``/-/healthy`` is a 200 within the budget (one late answer is retried)."""
    server.assert_alive()
    took: list[float] = []
    with server.client(timeout=HEALTH_BUDGET_S) as c:
        for _ in range(tries):
            t0 = time.monotonic()
            try:
                r = c.get("/-/healthy")
            except httpx.TimeoutException:
                took.append(HEALTH_BUDGET_S)
                continue
            took.append(time.monotonic() - t0)
            assert r.status_code == 200, f"/-/healthy answered {r.status_code}: {r.text[:200]}"
            if took[-1] <= HEALTH_BUDGET_S:
                return
    raise AssertionError(f"/-/healthy took {[round(t, 2) for t in took]}s (budget {HEALTH_BUDGET_S}s)")


@contextlib.contextmanager
def attack_window(server: Server, acked: Acked, max_growth_mb: float = ATTACK_RSS_MB) -> Iterator[HealthWatch]:
    """Health polled during the block; afterwards: alive, healthy, peak RSS at most
    ``max_growth_mb`` above its level before the block, every acked sample there."""
    reset_peak_rss(server.pid)
    before = server.rss_mb()
    with HealthWatch(server) as watch:
        yield watch
    watch.assert_ok()
    assert_healthy(server)
    grew = server.hwm_mb() - before
    assert grew < max_growth_mb, f"peak RSS grew {grew:.0f} MB during the attack (bound {max_growth_mb} MB)"
    acked.verify(server)




@contextlib.contextmanager
def peak_growth_mb(server: Server) -> Iterator[list[float]]:
    """Yields a list that, after the block, holds how far VmHWM rose above VmRSS at its start (MB)."""
    reset_peak_rss(server.pid)
    before = server.rss_mb()
    out: list[float] = []
    yield out
    out.append(server.hwm_mb() - before)
