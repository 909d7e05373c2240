"""A real Alertmanager 0.25 on 127.0.0.1 as a differential peer (skipped when not installed)."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests._net import free_port

ALERTMANAGER = shutil.which("prometheus-alertmanager")
needs_alertmanager = pytest.mark.skipif(ALERTMANAGER is None, reason="prometheus-alertmanager 0.25 is not installed")


@contextmanager
def alertmanager(tmp: Path, config: str) -> Iterator[httpx.Client]:
    """Start Alertmanager with ``config`` (no cluster) and yield a client on its base URL."""
    (tmp / "am.yml").write_text(config)
    port = free_port()
    proc = subprocess.Popen(
        [ALERTMANAGER or "prometheus-alertmanager", f"--config.file={tmp / 'am.yml'}",
         f"--storage.path={tmp / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
         "--cluster.listen-address=", "--log.level=warn"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5.0)
    try:
        _wait_ready(client, proc)
        yield client
    finally:
        client.close()
        proc.terminate()
        proc.wait(timeout=10)


def _wait_ready(client: httpx.Client, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"alertmanager exited with {proc.returncode}: {err}")
        try:
            if client.get("/-/ready").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError("alertmanager did not become ready within 10s")
