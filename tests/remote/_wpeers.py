"""Real remote write receivers for the tests and the benchmark: VictoriaMetrics single-node
(``/usr/bin/victoria-metrics``) and Prometheus with ``--web.enable-remote-write-receiver``.
Each listens on 127.0.0.1, keeps its data dir across ``stop()``/``start()`` (an outage),
and reads back the raw samples it stored (VictoriaMetrics' ``/api/v1/export``;
Prometheus' range-vector selector, which returns raw samples)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import httpx

from tests._net import free_port

VM_BIN = shutil.which("victoria-metrics") or "/usr/bin/victoria-metrics"
PROM_BIN = shutil.which("prometheus") or "/usr/bin/prometheus"
Raw = dict[tuple[tuple[str, str], ...], list[tuple[int, float]]]


def have(binary: str) -> bool:
    return Path(binary).is_file()


class Receiver:
    """A receiver process; subclasses say how to start it and read it back."""

    ready_path = "/-/ready"

    def __init__(self, data_dir: Path, log_path: Path) -> None:
        self.data_dir, self.log_path = data_dir, log_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def write_url(self) -> str:
        return f"{self.url}/api/v1/write"

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self, timeout_s: float = 30.0) -> Receiver:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=log)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.command()[0]} exited: {self.log_path.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + self.ready_path, timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"{self.command()[0]} on {self.url} not ready after {timeout_s}s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def raw(self, name_regex: str) -> Raw:
        raise NotImplementedError

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far (Linux ``/proc``)."""
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / 100.0


class VictoriaMetrics(Receiver):
    ready_path = "/health"

    def command(self) -> list[str]:
        return [VM_BIN, f"-httpListenAddr=127.0.0.1:{self.port}", f"-storageDataPath={self.data_dir}",
                "-retentionPeriod=100y", "-loggerLevel=ERROR", "-search.latencyOffset=0s"]

    def raw(self, name_regex: str) -> Raw:
        httpx.get(f"{self.url}/internal/force_flush", timeout=30)
        params = {"match[]": f'{{__name__=~"{name_regex}"}}', "start": "0", "end": str(int(time.time()) + 86_400)}
        r = httpx.get(f"{self.url}/api/v1/export", params=params, timeout=60)
        r.raise_for_status()
        out: Raw = {}
        for line in r.text.splitlines():
            doc = json.loads(line)
            key = tuple(sorted(doc["metric"].items()))
            out.setdefault(key, []).extend(zip(doc["timestamps"], (float(v) for v in doc["values"]), strict=True))
        return {k: sorted(v) for k, v in out.items()}


class PrometheusReceiver(Receiver):
    #: Appended to its config file (e.g. a ``remote_write`` block, to measure Prometheus as a sender).
    config_extra = ""

    def command(self) -> list[str]:
        cfg = self.data_dir.parent / f"prom-{self.port}.yml"
        cfg.write_text("global: {scrape_interval: 1h}\n" + self.config_extra)
        return [PROM_BIN, f"--config.file={cfg}", f"--storage.tsdb.path={self.data_dir}",
                f"--web.listen-address=127.0.0.1:{self.port}", "--web.enable-remote-write-receiver",
                "--log.level=error"]

    def raw(self, name_regex: str, at_s: float | None = None, window: str = "3h") -> Raw:
        at = at_s if at_s is not None else time.time() + 60
        q = f'{{__name__=~"{name_regex}"}}[{window}]'
        r = httpx.get(f"{self.url}/api/v1/query", params={"query": q, "time": at}, timeout=60)
        r.raise_for_status()
        out: Raw = {}
        for s in r.json()["data"]["result"]:
            key = tuple(sorted(s["metric"].items()))
            out[key] = [(int(round(float(t) * 1000)), float(v)) for t, v in s["values"]]
        return out


def raw_of(written: dict[tuple[tuple[str, str], ...], list[tuple[int, float]]]) -> Raw:
    return {k: sorted(v) for k, v in written.items()}
