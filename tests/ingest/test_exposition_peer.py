"""The real Prometheus 2.42 and sloguard agree on which exposition bodies are valid.

One Prometheus scrapes one target per case; a case is up in Prometheus exactly when
sloguard's parser accepts the body.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from sloguard.ingest.exposition import ExpositionError, parse
from tests._net import free_port
from tests.ingest._exporter import ExporterState, serve

pytestmark = [pytest.mark.peer, pytest.mark.slow]

TEXT = "text/plain; version=0.0.4"
OM = "application/openmetrics-text; version=1.0.0"

CASES: list[tuple[bytes, str]] = [
    (b"a 1\n", TEXT),
    (b"a 1", TEXT),
    (b'a{b="c",} 1 123\n', TEXT),
    (b'  a { b = "c" } 1\n\n', TEXT),
    (b"a 1 -5\n", TEXT),
    (b"a 1 1.5\n", TEXT),
    (b"a x\n", TEXT),
    (b"a 1_0\n", TEXT),
    (b'a{b="c",b="d"} 1\n', TEXT),
    (b"a{b=c} 1\n", TEXT),
    (b"# TYPE a foo\na 1\n", TEXT),
    (b"# HELP\na 1\n", TEXT),
    (b"# HELP \na 1\n", TEXT),
    (b"  a 1\n", TEXT),
    (b"\t\na 1\n", TEXT),
    (b"a{} 1\n", TEXT),
    (b'a{b="c"}2\n', TEXT),
    (b"a-1\n", TEXT),
    (b"a 1\r\n", TEXT),
    (b"a 1 5\r\n", TEXT),
    (b"a\x0b1\n", TEXT),
    (b"#comment\na 1\n", TEXT),
    (b'a{b="\\t"} 1\n', TEXT),
    (b"a NaN\nb +Inf\nc -Inf\nd 0x10\n", TEXT),
    (b"a 1 2 3\n", TEXT),
    (b"a 1\n# EOF\n", OM),
    (b"a 1\n", OM),
    (b"a 1\n# EOF\nb 1\n", OM),
    (b"a 1 1.5\n# EOF\n", OM),
    (b"a  1\n# EOF\n", OM),
    (b"a 1\n\n# EOF\n", OM),
    (b"# random\na 1\n# EOF\n", OM),
    (b"# TYPE a untyped\na 1\n# EOF\n", OM),
    (b'# TYPE a counter\na_total 1 # {t="x"} 1 2\n# EOF\n', OM),
    (b"# UNIT a_bytes seconds\na_bytes 1\n# EOF\n", OM),
    (b'a {b="c"} 1\n# EOF\n', OM),
    (b"a 1 NaN\n# EOF\n", OM),
    (b"a{} 1\n# EOF", OM),
    (b'a{b="c",} 1\n# EOF\n', OM),
    (b'a 1 # {t="x"} 1\n# EOF\n', OM),
    (b"a 1 -1.5\n# EOF\n", OM),
    (b"a 1\r\n# EOF\n", OM),
    (b"a 1\t\n# EOF\n", OM),
]


def _targets(base: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{base}/api/v1/targets", timeout=5) as r:  # noqa: S310 - loopback
        return list(json.load(r)["data"]["activeTargets"])


def _ours_valid(body: bytes, ctype: str) -> bool:
    try:
        parse(body, ctype)
    except ExpositionError:
        return False
    return True


def test_validity_agrees_with_real_prometheus(tmp_path: Path) -> None:
    binary = shutil.which("prometheus")
    if binary is None:
        pytest.skip("prometheus not on PATH (install the peers with scripts/install-peers)")
    state = ExporterState(b"")
    state.routes = {f"/case/{i}": case for i, case in enumerate(CASES)}
    with serve(state) as addr:
        jobs = [
            {"job_name": f"case{i}", "metrics_path": f"/case/{i}", "static_configs": [{"targets": [addr]}]}
            for i in range(len(CASES))
        ]
        cfg = tmp_path / "prometheus.yml"
        cfg.write_text(yaml.safe_dump({"global": {"scrape_interval": "1s", "scrape_timeout": "1s"}, "scrape_configs": jobs}))
        port = free_port()
        proc = subprocess.Popen(
            [binary, f"--config.file={cfg}", f"--storage.tsdb.path={tmp_path / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            health: dict[str, tuple[str, str]] = {}
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(health) < len(CASES):
                with contextlib.suppress(OSError):
                    health = {t["scrapePool"]: (t["health"], t["lastError"]) for t in _targets(f"http://127.0.0.1:{port}") if t["health"] != "unknown"}
                time.sleep(0.3)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    assert len(health) == len(CASES), "prometheus did not scrape every case within 60s"
    disagree = [
        (CASES[i], health[f"case{i}"])
        for i in range(len(CASES))
        if (health[f"case{i}"][0] == "up") != _ours_valid(*CASES[i])
    ]
    assert disagree == [], "\n".join(map(repr, disagree))
