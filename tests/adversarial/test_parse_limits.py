"""Issue 8, item 1: deep or long PromQL never kills or stalls the server.

The texts are the issue's: 9,000 nested parentheses, a 5,000-term ``+`` chain, an 80,000-term
``or`` chain (and a 2,000-term chain, which got "unexpected error: RecursionError"), sent to
every endpoint that parses PromQL, and put in a rule file at startup and on reload.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.adversarial.conftest import (
    PARSE_ERROR,
    Acked,
    Server,
    assert_healthy,
    attack_window,
    config_text,
    flag_args,
    wait_until,
)

pytestmark = [pytest.mark.adversarial, pytest.mark.timeout(90)]

ANSWER_WITHIN_S = 5.0

ATTACKS: dict[str, tuple[str, float | None]] = {
    # name: (expression, its value when a server accepts it)
    "parens-9000": ("(" * 9000 + "1" + ")" * 9000, 1.0),
    "parens-1500": ("(" * 1500 + "1" + ")" * 1500, 1.0),  # parsed for seconds, stalling health
    "plus-2000": ("+".join(["1"] * 2000), 2000.0),
    "plus-5000": ("+".join(["1"] * 5000), 5000.0),
    "or-80000": (" or ".join(["vector(1)"] * 80_000), 1.0),
}


def _params(endpoint: str, expr: str, now: float) -> dict[str, str]:
    if endpoint == "/api/v1/series":
        return {"match[]": expr, "start": f"{now - 60:.0f}", "end": f"{now:.0f}"}
    if endpoint == "/api/v1/query_range":
        return {"query": expr, "start": f"{now - 60:.0f}", "end": f"{now:.0f}", "step": "15"}
    if endpoint == "/api/v1/query_exemplars":
        return {"query": expr, "start": f"{now - 60:.0f}", "end": f"{now:.0f}"}
    if endpoint == "/api/v1/query":
        return {"query": expr, "time": f"{now:.3f}"}
    return {"query": expr}


class Shared:
    """One server for the module's HTTP attacks, restarted (same data) if an attack killed it."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.server = Server(tmp, config_text(), [])
        self.acked = Acked("adv_parse")
        self.server.start()
        self.acked.seed(self.server)

    def get(self) -> Server:
        if not self.server.alive():
            self.server = Server(self.tmp, self.server.config_path.read_text(), [])
            self.server.start()
        return self.server


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    holder = Shared(tmp_path_factory.mktemp("parse"))
    yield holder
    holder.server.stop(timeout_s=5.0)


def _check_answer(endpoint: str, status: int, body: dict[str, Any], value: float | None) -> None:
    assert status in (200, 400), f"{endpoint} answered {status}: {str(body)[:300]}"
    if status == 400:
        assert body.get("errorType") == "bad_data", body
        assert PARSE_ERROR in str(body.get("error", "")), f"not Prometheus' wording: {body}"
    elif endpoint == "/api/v1/query" and value is not None:
        result = body["data"]["result"]
        got = float(result[0]["value"][1] if isinstance(result[0], dict) else result[1])
        assert got == value, f"accepted, but evaluated to {got} instead of {value}"


@pytest.mark.parametrize("endpoint", [
    "/api/v1/query", "/api/v1/query_range", "/api/v1/series", "/api/v1/format_query",
    "/api/v1/query_exemplars",
])
@pytest.mark.parametrize("attack", list(ATTACKS))
def test_deep_or_long_promql_is_refused_or_answered_without_harm(shared: Shared, endpoint: str, attack: str) -> None:
    server = shared.get()
    expr, value = ATTACKS[attack]
    with attack_window(server, shared.acked):
        t0 = time.monotonic()
        with server.client(timeout=ANSWER_WITHIN_S + 1) as c:
            r = c.post(endpoint, data=_params(endpoint, expr, time.time()))
        took = time.monotonic() - t0
        body = r.json() if r.headers.get("content-type", "").startswith("application/json") else {"raw": r.text}
    _check_answer(endpoint, r.status_code, body, value)
    assert took < ANSWER_WITHIN_S, f"{attack} on {endpoint} took {took:.1f}s"


def _rule_file(expr: str) -> str:
    return f"groups:\n- name: adv\n  rules:\n  - record: adv:deep\n    expr: '{expr}'\n"


@pytest.mark.parametrize("attack", ["parens-9000", "plus-5000"])
def test_rule_file_with_deep_expression_at_startup_fails_cleanly(tmp_path: Path, attack: str) -> None:
    (tmp_path / "rules.yml").write_text(_rule_file(ATTACKS[attack][0]))
    server = Server(tmp_path, config_text({"rule_files": [str(tmp_path / "rules.yml")]}), [])
    server.spawn()
    try:
        wait_until(lambda: not server.alive() or server.is_up(), 30, "the server to start or refuse")
        if server.alive():  # accepted (started and kept the bad group out): must say so
            assert_healthy(server)
            assert "rules.yml" in server.logs(), "the bad rule file is not named in the log"
        else:
            code = server.proc.returncode if server.proc else None
            assert code == 1, f"exit code {code} (139/-11 is the native parser's stack overflow)"
            assert "rules.yml" in server.logs() and "Traceback" not in server.logs(), server.log_tail()
    finally:
        server.kill()


def test_rule_file_with_deep_expression_on_reload_keeps_the_server_running(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(_rule_file("vector(1)"))
    conf = config_text({"rule_files": [str(rules)]})
    server = Server(tmp_path, conf, flag_args(enable_lifecycle=True)).start()
    acked = Acked("adv_rules")
    try:
        acked.seed(server)
        rules.write_text(_rule_file(ATTACKS["parens-9000"][0]))
        with attack_window(server, acked), server.client() as c:
            r = c.post("/-/reload")
        assert r.status_code == 500, f"reload of a broken rule file answered {r.status_code}"
        assert "rules.yml" in r.text, f"the reload error does not name the file: {r.text[:300]}"
        _, info = server.get_json("/api/v1/status/runtimeinfo")
        assert info["data"]["reloadConfigSuccess"] is False
    finally:
        server.stop(timeout_s=5.0)


def test_rules_check_of_a_deep_expression_exits_1_with_a_message(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yml"
    rules.write_text(_rule_file(ATTACKS["parens-9000"][0]))
    proc = subprocess.run(
        [sys.executable, "-c", "from sloguard.cli import main; main()", "rules", "check", str(rules)],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 1, f"exit {proc.returncode} (139 is a segfault): {proc.stderr[-500:]}"
    assert "rules.yml" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
