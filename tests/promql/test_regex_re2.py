"""Regexes in PromQL (selectors and ``label_replace``) run on RE2 with Go's semantics: a
pattern that makes a backtracking engine take exponential time answers at once, and Go
syntax the parser's Rust regex lacks (``\\Q...\\E``, repeated group names) is read. The
expectations were checked against a real Prometheus 2.42 (re-checked by the peer test)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sloguard.promql.testscript import Outcome, parse_script, run_script
from tests._net import free_port

A30 = "a" * 30
SCRIPT = f"""\
load 1m
  bt{{v="{A30}!"}} 1
  bt{{v="{"a" * 26}!"}} 2
  bt{{v="aaaa"}} 3
  host{{instance="hé.example:9100"}} 4
  host{{instance="db\\n1:9100"}} 5

eval instant at 0m bt{{v=~"(a+)+c?"}}
  bt{{v="aaaa"}} 3

eval instant at 0m count(bt{{v!~"(a+)+c?"}})
  {{}} 2

eval instant at 0m label_replace(bt, "n", "$1", "v", "(a+)+(!)")
  bt{{v="{A30}!", n="{A30}"}} 1
  bt{{v="{"a" * 26}!", n="{"a" * 26}"}} 2
  bt{{v="aaaa"}} 3

eval instant at 0m label_replace(bt, "n", "x", "v", "(a|aa)*c")
  bt{{v="{A30}!"}} 1
  bt{{v="{"a" * 26}!"}} 2
  bt{{v="aaaa"}} 3

eval instant at 0m label_replace(host, "h", "$1/${{port}}", "instance", "([^:]+):(?P<port>\\\\d+)")
  host{{instance="hé.example:9100", h="hé.example/9100"}} 4
  host{{instance="db\\n1:9100", h="db\\n1/9100"}} 5

eval instant at 0m label_replace(host, "h", "$1", "instance", "(.*):.*")
  host{{instance="hé.example:9100", h="hé.example"}} 4
  host{{instance="db\\n1:9100"}} 5

eval instant at 0m host{{instance=~"(?s).*:9100"}}
  host{{instance="hé.example:9100"}} 4
  host{{instance="db\\n1:9100"}} 5

eval instant at 0m host{{instance=~".*:9100"}}
  host{{instance="hé.example:9100"}} 4

eval_fail instant at 0m label_replace(host, "h", "$1", "instance", "(?=x)")

eval instant at 0m host{{instance=~"\\\\Qhé.example\\\\E:\\\\d+"}}
  host{{instance="hé.example:9100"}} 4

eval instant at 0m host{{instance=~".*(?P<d>\\\\d)(?P<d>\\\\d)00"}}
  host{{instance="hé.example:9100"}} 4

eval_fail instant at 0m host{{instance=~"\\\\Qa"}}
"""

_RESULTS = {r.line: r for r in run_script(parse_script(SCRIPT, "re2.test"))}
_ORACLE = Path(__file__).resolve().parents[3] / "shared" / "tools" / "promql_live_oracle.py"


@pytest.mark.parametrize("line", sorted(_RESULTS), ids=[f"re2.test:{n}" for n in sorted(_RESULTS)])
def test_regex_eval(line: int) -> None:
    r = _RESULTS[line]
    assert r.outcome is Outcome.PASSED, f"{r.where} {r.expr}: {r.message}"


def test_every_eval_ran() -> None:
    assert len(_RESULTS) == SCRIPT.count("\neval")


@pytest.mark.peer
@pytest.mark.slow
def test_expectations_hold_on_real_prometheus(tmp_path: Path) -> None:
    if not (shutil.which("prometheus") and shutil.which("promtool")):
        pytest.skip("prometheus/promtool not on PATH")
    if not _ORACLE.is_file():
        pytest.skip(f"live oracle script not found at {_ORACLE}")
    path = tmp_path / "re2.test"
    path.write_text(SCRIPT)
    out = subprocess.run([sys.executable, str(_ORACLE), "--port", str(free_port()), str(path)], capture_output=True, text=True, timeout=300)
    assert out.stdout.strip().endswith("0 failed, 0 skipped"), out.stdout + out.stderr
