"""Deeply nested JSON and YAML bodies get a clear 400 naming the nesting, never a 500 from
Python's recursion limit, and the server stays healthy.

Python's ``json`` decoder and PyYAML's composer recurse once per level, so before
``sloguard.nesting`` a body like ``[[[[...`` 200,000 levels deep made every endpoint that
reads JSON or YAML answer "Internal Server Error" (RecursionError). Each attack goes to a real
``sloguard serve`` with the alerting pipeline and the rollout API.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.adversarial.conftest import Acked, Server, assert_healthy

pytestmark = [pytest.mark.adversarial, pytest.mark.slow, pytest.mark.timeout(120)]

AM_CONFIG = """\
route: {receiver: log}
receivers: [{name: log}]
"""
NESTING = r"(?i)nest|max depth"
JSON = "application/json"
YAML = "application/yaml"


def _block_yaml(levels: int) -> str:
    """A mapping ``levels`` deep in block style, one more space of indentation per level."""
    return "".join(" " * i + "k:\n" for i in range(levels))


#: (what, path, content type, body, expected status, what the answer says)
ATTACKS: list[tuple[str, str, str, str, int, str]] = [
    ("alerts: 200,000 open arrays", "/api/v2/alerts", JSON, "[" * 200_000, 400, NESTING),
    ("alerts: 10,001 open objects", "/api/v2/alerts", JSON, '{"a":' * 10_001, 400, NESTING),
    ("alerts: 5,000 nested arrays (a type error for Go)", "/api/v2/alerts", JSON, "[" * 5000 + "]" * 5000, 400,
     "cannot unmarshal array into Go value"),
    ("silences: matchers 10,001 deep", "/api/v2/silences", JSON, '{"matchers":' + "[" * 10_001, 400, NESTING),
    ("rollout spec: YAML flow 200,000 deep", "/api/v1/rollouts", YAML, "spec: " + "[" * 200_000, 400, NESTING),
    ("rollout spec: JSON objects 100,000 deep", "/api/v1/rollouts", JSON, '{"a":' * 100_000, 400, NESTING),
    ("rollout spec: YAML block 1,200 deep", "/api/v1/rollouts", YAML, _block_yaml(1200), 400, NESTING),
    ("rollout action: 200,000 open arrays", "/api/v1/rollouts/web/pause", JSON, "[" * 200_000, 400, NESTING),
    ("rollout action: 3,000 nested objects", "/api/v1/rollouts/web/abort", JSON, '{"a":' * 3000 + "1" + "}" * 3000, 400, NESTING),
]


def test_deep_bodies_get_a_clear_400_and_the_server_stays_healthy(
        make_server: Callable[..., Server], tmp_path: Path) -> None:
    am = tmp_path / "alertmanager.yml"
    am.write_text(AM_CONFIG)
    server = make_server(args=["--alerting.config", str(am)])
    acked = Acked("adv_deep")
    acked.seed(server)
    with server.client() as c:
        for what, path, ctype, body, status, answer in ATTACKS:
            r = c.post(path, content=body.encode(), headers={"content-type": ctype})
            assert r.status_code == status, f"{what}: {r.status_code} {r.text[:300]}"
            assert re.search(answer, r.text), f"{what}: the answer does not say {answer!r}: {r.text[:300]}"
        # Go's decoder skips an unknown field however deep (up to its 10,000 levels); so does sloguard
        deep_unknown = '[{"labels":{"alertname":"Deep"},"x":' + "[" * 9000 + "]" * 9000 + "}]"
        r = c.post("/api/v2/alerts", content=deep_unknown.encode(), headers={"content-type": JSON})
        assert r.status_code == 200, r.text[:300]
        assert any(a["labels"] == {"alertname": "Deep"} for a in c.get("/api/v2/alerts").json())
    assert_healthy(server)
    acked.verify(server)
    logs = server.logs()
    assert "RecursionError" not in logs and "Traceback" not in logs, server.log_tail()
