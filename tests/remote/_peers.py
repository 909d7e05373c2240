"""Real query backends started on 127.0.0.1 for the tests: Prometheus with its remote-write
receiver and VictoriaMetrics single-node; both take remote write at ``write_url``."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests._net import free_port


class Peer:
    """A backend process; ``url`` is its API root, ``write_url`` its remote-write endpoint."""

    def __init__(self, argv: list[str], port: int, workdir: Path, write_path: str, flush_path: str = "") -> None:
        self.name = argv[0]
        self.url = f"http://127.0.0.1:{port}"
        self.write_url = self.url + write_path
        self._flush_path = flush_path
        self._http = httpx.Client(timeout=30)  # one client: building one loads the CA store (~0.1 s)
        self._log = (workdir / "peer.log").open("w")
        self.proc = subprocess.Popen(argv, stdout=self._log, stderr=subprocess.STDOUT, cwd=workdir)
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}")
            try:
                urllib.request.urlopen(self.url + "/api/v1/query?query=1", timeout=1).read()
                return
            except (OSError, urllib.error.URLError):
                time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer within 20 s")

    def write(self, body: bytes) -> None:
        """POST a snappy WriteRequest; raise with the peer's answer on a non-2xx."""
        r = self._http.post(self.write_url, content=body, headers={
            "Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
            "X-Prometheus-Remote-Write-Version": "0.1.0"})
        if r.status_code // 100 != 2:
            raise RuntimeError(f"remote write to {self.write_url}: HTTP {r.status_code}: {r.text[:300]}")

    def flush(self) -> None:
        """Make what was written searchable now (VictoriaMetrics buffers for about a second)."""
        if self._flush_path:
            self._http.get(self.url + self._flush_path).raise_for_status()

    def close(self) -> None:
        self._http.close()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self._log.close()


@contextmanager
def prometheus(workdir: Path) -> Iterator[Peer]:
    if shutil.which("prometheus") is None:
        pytest.skip("prometheus is not on PATH (scripts/install-peers)")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    (workdir / "prometheus.yml").write_text("global: {}\n")
    peer = Peer(["prometheus", "--config.file=prometheus.yml", f"--storage.tsdb.path={workdir / 'db'}",
                 f"--web.listen-address=127.0.0.1:{port}", "--web.enable-remote-write-receiver"],
                port, workdir, "/api/v1/write")
    try:
        yield peer
    finally:
        peer.close()


@contextmanager
def victoria_metrics(workdir: Path) -> Iterator[Peer]:
    binary = shutil.which("victoria-metrics") or shutil.which("victoria-metrics-prod")
    if binary is None:
        pytest.skip("victoria-metrics is not on PATH (Debian package victoria-metrics)")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    peer = Peer([binary, f"-storageDataPath={workdir / 'vm'}", f"-httpListenAddr=127.0.0.1:{port}",
                 "-search.latencyOffset=0s", "-search.disableCache", "-retentionPeriod=100y",
                 "-loggerLevel=ERROR"], port, workdir, "/api/v1/write", "/internal/force_flush")
    try:
        yield peer
    finally:
        peer.close()
