"""Issue 8, item 7: query isolation, reload reasons, and imported blocks in a running server."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from sloguard.ingest.remote_write import encode_write_request
from tests.adversarial.conftest import (
    Acked,
    Server,
    assert_healthy,
    attack_window,
    flag_args,
    wait_until,
)

pytestmark = [pytest.mark.adversarial, pytest.mark.timeout(120)]

WRITERS, QUERIES = 3, 20
#: The server under test re-reads blocks every 2 s (its hidden maintenance-interval flag;
#: the default is a minute, tested in-process in tests/api/test_integrity.py).
IMPORT_PICKUP_S = 10.0


def _writer(server: Server, w: int, stop: threading.Event, errors: list[str]) -> None:
    i = 0
    with server.client() as c:
        while not stop.is_set():
            now = int(time.time() * 1000)
            body = encode_write_request([
                ((("__name__", "iso"), ("w", str(w)), ("i", str(i + k))), [now], [1.0]) for k in range(20)
            ])
            r = c.post("/api/v1/write", content=body, headers={
                "Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
                "X-Prometheus-Remote-Write-Version": "0.1.0"})
            if r.status_code != 204:
                errors.append(f"{r.status_code}: {r.text[:100]}")
            i += 20


def test_a_query_sees_one_snapshot_while_writers_append(make_server: Callable[..., Server]) -> None:
    server = make_server()
    acked = Acked("adv_iso")
    acked.seed(server)
    stop, errors = threading.Event(), list[str]()
    writers = [threading.Thread(target=_writer, args=(server, w, stop, errors), daemon=True) for w in range(WRITERS)]
    nonzero = []
    with attack_window(server, acked):
        for t in writers:
            t.start()
        try:
            for _ in range(QUERIES):
                status, body = server.query("count(iso) - count(iso)", at=time.time() + 1)
                assert status == 200, body
                nonzero += [r["value"][1] for r in body["data"]["result"] if float(r["value"][1]) != 0]
        finally:
            stop.set()
            for t in writers:
                t.join(timeout=10)
    assert not errors, errors[:3]
    assert not nonzero, f"count(iso) - count(iso) was {nonzero} in {len(nonzero)} of {QUERIES} queries"


def _runtime(server: Server) -> dict[str, Any]:
    status, body = server.get_json("/api/v1/status/runtimeinfo")
    assert status == 200, body
    data: dict[str, Any] = body["data"]
    return data


def test_reload_of_a_broken_config_says_why(make_server: Callable[..., Server]) -> None:
    server = make_server(args=flag_args(enable_lifecycle=True))
    good = server.config_path.read_text()
    first = datetime.fromisoformat(str(_runtime(server)["lastConfigTime"]).replace("Z", "+00:00"))
    server.config_path.write_text(good + "scrape_configs_typo: []\n")
    with server.client() as c:
        r = c.post("/-/reload")
    assert r.status_code == 500, f"reload of a broken config answered {r.status_code}"
    assert "scrape_configs_typo" in r.text, f"the 500 does not say why: {r.text[:300]}"
    assert _runtime(server)["reloadConfigSuccess"] is False
    assert_healthy(server)
    time.sleep(1.1)  # lastConfigTime has one-second resolution
    server.config_path.write_text(good)
    with server.client() as c:
        assert c.post("/-/reload").status_code == 200
    info = _runtime(server)
    assert info["reloadConfigSuccess"] is True
    later = datetime.fromisoformat(str(info["lastConfigTime"]).replace("Z", "+00:00"))
    assert later > first, f"lastConfigTime did not move after a good reload: {first} -> {later}"


def _openmetrics(path: Path) -> int:
    start = (int(time.time()) - 3 * 7200) // 7200 * 7200
    lines = [f'imported{{s="{s}"}} {j} {start + 60 * (j + 1)}' for s in range(5) for j in range(50)]
    path.write_text("# TYPE imported gauge\n" + "\n".join(lines) + "\n# EOF\n")
    return start + 7200


def test_a_block_imported_into_a_running_server_shows_up(make_server: Callable[..., Server]) -> None:
    server = make_server(args=flag_args(maintenance_interval="2s"))
    acked = Acked("adv_import")
    acked.seed(server)
    after = _openmetrics(server.config_path.parent / "imported.om")
    proc = subprocess.run(
        [sys.executable, "-c", "from sloguard.cli import main; main()", "import", "openmetrics",
         str(server.config_path.parent / "imported.om"), "--data-dir", str(server.data_dir), "--quiet"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 0, f"import into a running server's data dir failed: {proc.stderr[-500:]}"

    def seen() -> bool:
        status, body = server.query("count(count_over_time(imported[3h]))", at=after)
        return status == 200 and bool(body["data"]["result"]) and body["data"]["result"][0]["value"][1] == "5"

    with attack_window(server, acked):
        wait_until(seen, IMPORT_PICKUP_S, "the imported block to be queryable")
