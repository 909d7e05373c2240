"""Rule queries are shown as Prometheus prints them back (``Expr.String()``)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from sloguard.rules._exprstr import expr_string

EXPRS = [
    'foo{job=~"a.*",instance!="x"} offset 5m',
    "x @ 1000",
    "sum by (job) (rate(x[5m:30s]))",
    "-x",
    "(a + b) * 2",
    "a > bool 1",
    "a / on(x) group_left(y) b",
    "a * ignoring(x) group_right b",
    "topk(3, x)",
    'count_values("v", x)',
    'label_replace(x, "a", "$1", "b", "(.*)")',
    '{__name__="x"}',
    '{job="a"}',
    "x[5m] offset -1h",
    "-1",
    "1e6",
    "x == Inf",
    "sum without(instance) (count_over_time(test[1m]))",
    "count_over_time(up[5m:])",
    "sum by () (x)",
    "a and on() b",
    "x[1h:5m] @ end()",
    "rate(http_requests_total{code=~\"5..\"}[5m]) / ignoring(code) rate(http_requests_total[5m])",
    "histogram_quantile(0.99, sum by (le, job) (rate(h_bucket[5m])))",
    "avg_over_time(x[10m] @ 1700000000 offset 1m)",
]

KNOWN = {
    "sum without(instance) (count_over_time(test[1m]))": "sum without (instance) (count_over_time(test[1m]))",
    'foo{job=~"a.*",instance!="x"} offset 5m': 'foo{instance!="x",job=~"a.*"} offset 5m',
    "a / on(x) group_left(y) b": "a / on (x) group_left (y) b",
    "x @ 1000": "x @ 1000.000",
    "1e6": "1e+06",
    "x == Inf": "x == +Inf",
    "sum by () (x)": "sum(x)",
    "count_over_time(up[5m:])": "count_over_time(up[5m:])",
}


@pytest.mark.parametrize(("expr", "want"), sorted(KNOWN.items()))
def test_known_prints(expr: str, want: str) -> None:
    assert expr_string(expr) == want


def test_unparsable_expression_is_shown_as_written() -> None:
    assert expr_string(" up + ") == "up +"


@pytest.mark.peer
def test_prints_match_a_real_prometheus(tmp_path: Path) -> None:
    if shutil.which("prometheus") is None:
        pytest.skip("prometheus not on PATH")
    (tmp_path / "rules.yml").write_text("groups:\n  - name: g\n    rules:\n" + _yaml_rules())
    (tmp_path / "prom.yml").write_text("rule_files: [rules.yml]\n")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        ["prometheus", f"--config.file={tmp_path / 'prom.yml'}", f"--web.listen-address=127.0.0.1:{port}",
         f"--storage.tsdb.path={tmp_path / 'data'}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    got: list[str] = []
    try:
        for _ in range(100):
            try:
                body = httpx.get(f"http://127.0.0.1:{port}/api/v1/rules", timeout=2).json()
                got = [r["query"] for r in body["data"]["groups"][0]["rules"]]
                break
            except (httpx.HTTPError, KeyError, IndexError, ValueError):
                time.sleep(0.1)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert [expr_string(e) for e in EXPRS] == got


def _yaml_rules() -> str:
    import json

    return "".join(f"      - record: r{i}\n        expr: {json.dumps(e)}\n" for i, e in enumerate(EXPRS))
