"""Issue 8, item 3: a catastrophic-backtracking regex must not freeze the server.

``bt{v=~"(a+)+c?"}`` over values of 18-30 ``a``s and a ``!`` froze the backtracking ``re``
for 120 s. RE2 (Prometheus' engine) answers in linear time, with the same semantics.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.adversarial.conftest import Acked, Server, attack_window, config_text

pytestmark = [pytest.mark.adversarial, pytest.mark.timeout(90)]

EVIL = '(a+)+c?'
LENGTHS = (18, 20, 22, 24, 26, 28, 30)
ANSWER_WITHIN_S = 3.0


def _seed_bt(server: Server) -> Acked:
    acked = Acked("bt")
    now = int(time.time() * 1000)
    acked.send(server, [((("__name__", "bt"), ("v", "a" * n + "!")), [now - 1000], [float(n)]) for n in LENGTHS])
    return acked


def _timed_write(server: Server, acked: Acked, took: list[str]) -> None:
    """One remote write while the regex runs; its latency (or why it failed) goes to ``took``."""
    time.sleep(0.3)  # let the regex query start first
    t0 = time.monotonic()
    try:
        acked.seed(server, n_series=2, n_samples=2, tag=f"during-{time.time_ns()}")
    except (httpx.HTTPError, AssertionError) as e:
        took.append(f"failed: {type(e).__name__}: {e}")
    else:
        took.append(f"{time.monotonic() - t0:.3f}")


@pytest.fixture(scope="module")
def bt_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Acked]]:
    server = Server(Path(tmp_path_factory.mktemp("regex")), config_text(), []).start()
    try:
        yield server, _seed_bt(server)
    finally:
        server.stop(timeout_s=5.0)


@pytest.mark.parametrize("endpoint", ["/api/v1/query", "/api/v1/series", "/api/v1/label/v/values"])
def test_backtracking_regex_answers_fast_and_writes_go_on(bt_server: tuple[Server, Acked], endpoint: str) -> None:
    server, bt = bt_server
    if not server.alive():
        pytest.fail("an earlier attack killed the shared server")
    acked = Acked("adv_regex_writes")
    write_took: list[str] = []
    writer = threading.Thread(target=_timed_write, args=(server, acked, write_took), daemon=True)
    selector = f'bt{{v=~"{EVIL}"}}'
    params = {"query": selector, "timeout": "2s"} if endpoint.endswith("query") else {"match[]": selector}
    with attack_window(server, bt):
        writer.start()
        t0 = time.monotonic()
        with server.client() as c:
            r = c.get(endpoint, params=params)
        took = time.monotonic() - t0
        writer.join(timeout=15)
    assert r.status_code == 200, f"{endpoint} answered {r.status_code}: {r.text[:300]}"
    assert r.json()["data"] == ([] if not endpoint.endswith("query") else {"resultType": "vector", "result": []})
    assert took < ANSWER_WITHIN_S, f"the regex took {took:.1f}s on {endpoint}"
    assert write_took and not write_took[0].startswith("failed") and float(write_took[0]) < 1.0, (
        f"a remote write during the regex took {write_took}")
    acked.verify(server)


def test_regex_semantics_stay_re2s(bt_server: tuple[Server, Acked]) -> None:
    server = bt_server[0]
    server.assert_alive()
    status, body = server.query('count(bt{v=~"a{18,22}!"})', at=time.time())
    assert status == 200 and body["data"]["result"][0]["value"][1] == "3", body
    status, body = server.query('count(bt{v!~"a+"})', at=time.time())  # anchored: "a...!" is not "a+"
    assert status == 200 and body["data"]["result"][0]["value"][1] == str(len(LENGTHS)), body
