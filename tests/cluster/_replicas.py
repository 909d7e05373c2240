"""`sloguard serve` replicas as subprocesses sharing one PostgreSQL, for the HA tests and
the failover benchmark: a config with N small recording-rule groups, start / SIGKILL /
restart, reads of each replica's own TSDB, and the union's checks (gaps, duplicates)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests._net import free_port

ROOT = Path(__file__).resolve().parents[2]
METRIC = "ha_g"


def rules_text(groups: int, interval: str, alerts: int = 0) -> str:
    """``groups`` groups of one recording rule each: ``ha_g{g="i"} = time() + i`` (the value
    names its timestamp, so two replicas evaluating one slot must agree); plus ``alerts``
    groups with an always-firing alert (``for: 0s``)."""
    lines = ["groups:"]
    for i in range(groups):
        lines += [f"  - name: g{i}", f"    interval: {interval}", "    rules:",
                  f"      - record: {METRIC}", f"        expr: vector(time() + {i})", f"        labels: {{g: '{i}'}}"]
    for i in range(alerts):
        lines += [f"  - name: alert{i}", f"    interval: {interval}", "    rules:",
                  f"      - alert: HaAlways{i}", "        expr: vector(1)", "        for: 0s",
                  "        labels: {severity: page}"]
    return "\n".join(lines) + "\n"


def write_config(root: Path, state_url: str, groups: int, interval: str, heartbeat: str, ttl: str,
                 alerts: int = 0, alerting_config: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "rules.yml").write_text(rules_text(groups, interval, alerts))
    extra = f"alerting_config_file: {alerting_config}\n" if alerting_config else ""
    cfg = root / "sloguard.yml"
    cfg.write_text(
        f"global: {{evaluation_interval: {interval}}}\nrule_files: [rules.yml]\nstate: {{url: '{state_url}'}}\n"
        f"cluster: {{enabled: true, heartbeat_interval: {heartbeat}, lease_ttl: {ttl}}}\n{extra}"
    )
    return cfg


@dataclass
class Replica:
    """One ``sloguard serve`` process (its own data dir and port; restarted with both)."""

    name: str
    config: Path
    data: Path
    state_url: str | None = None
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    #: More ``serve`` flags (``--mode ruler``, ``--rules.alert.*``).
    args: list[str] = field(default_factory=list)
    #: Basic-auth credentials for the test's own calls (a ``--web.config.file`` requiring them),
    #: and TLS: ``https`` with ``verify`` an ``ssl.SSLContext`` trusting the server.
    auth: tuple[str, str] | None = None
    scheme: str = "http"
    verify: Any = True

    @property
    def log(self) -> Path:
        return self.data.parent / f"{self.name}.log"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        argv = [sys.executable, "-m", "sloguard.cli", "serve", "--config.file", str(self.config),
                "--storage.tsdb.path", str(self.data), "--web.listen-address", f"127.0.0.1:{self.port}",
                "--alerting.peer-name", self.name]
        if self.state_url:
            argv += ["--state.url", self.state_url]
        argv += self.args
        self.starts += 1
        with self.log.open("ab") as out:
            out.write(f"--- start {self.starts}\n".encode())
            out.flush()
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)

    def wait_ready(self, timeout_s: float = 60) -> None:
        def ready() -> bool:
            assert self.proc is not None and self.proc.poll() is None, f"{self.name} exited:\n{self.tail()}"
            try:
                return httpx.get(f"{self.url}/-/ready", timeout=2, auth=self.auth, verify=self.verify).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, timeout_s, f"{self.name} ready")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def api(self, path: str, **params: Any) -> Any:
        r = httpx.get(f"{self.url}{path}", params=params, timeout=20, auth=self.auth, verify=self.verify)
        r.raise_for_status()
        return r.json()["data"]

    def cluster(self) -> dict[str, Any]:
        data: dict[str, Any] = self.api("/api/v1/status/cluster")
        return data

    def samples(self, end_s: float, window_s: int) -> dict[str, dict[int, float]]:
        """Every raw sample of the output series in the window, by group then timestamp (ms)."""
        got = self.api("/api/v1/query", query=f"{METRIC}[{window_s}s]", time=end_s)
        return {s["metric"]["g"]: {round(float(t) * 1000): float(v) for t, v in s["values"]} for s in got["result"]}

    def tail(self, n: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log.exists() else ""


def wait_for(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@dataclass(frozen=True, slots=True)
class Union:
    """The replicas' samples merged: per group, each timestamp's values and writers."""

    values: dict[str, dict[int, set[float]]]
    writers: dict[str, dict[int, set[str]]]

    def gaps(self, start_ms: int, end_ms: int, bound_ms: int) -> dict[str, list[tuple[int, int]]]:
        """Per group, consecutive evaluations in [start, end] further apart than ``bound_ms``
        (the window's edges count: a group must have been evaluated near both)."""
        out: dict[str, list[tuple[int, int]]] = {}
        for g, by_ts in self.values.items():
            ts = [start_ms, *sorted(t for t in by_ts if start_ms <= t <= end_ms), end_ms]
            bad = [(a, b) for a, b in zip(ts, ts[1:], strict=False) if b - a > bound_ms]
            if bad:
                out[g] = bad
        return out

    def conflicts(self) -> list[tuple[str, int, set[float]]]:
        """Timestamps written with different values (by different replicas)."""
        return [(g, t, vs) for g, by_ts in self.values.items() for t, vs in by_ts.items() if len(vs) > 1]

    def doubles(self, start_ms: int, end_ms: int) -> int:
        """How many (group, timestamp) pairs in the window more than one replica wrote."""
        return sum(1 for by_ts in self.writers.values() for t, w in by_ts.items() if len(w) > 1 and start_ms <= t <= end_ms)


def union(per_replica: dict[str, dict[str, dict[int, float]]]) -> Union:
    values: dict[str, dict[int, set[float]]] = {}
    writers: dict[str, dict[int, set[str]]] = {}
    for name, groups in per_replica.items():
        for g, series in groups.items():
            for t, v in series.items():
                values.setdefault(g, {}).setdefault(t, set()).add(v)
                writers.setdefault(g, {}).setdefault(t, set()).add(name)
    return Union(values, writers)
