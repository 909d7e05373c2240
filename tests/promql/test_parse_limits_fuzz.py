"""Hypothesis fuzzing of the PromQL parse path with deep and long generated expressions:
the scan never under-counts, and no text crashes a parser (checked in a child process, so
a native crash fails this test instead of killing pytest)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings

from sloguard.parselimits import (
    ParseLimitError,
    _surely_within,
    check_expression,
    default_limits,
    measure,
)
from tests.promql._parse_fuzz import Gen, expressions

ROOT = Path(__file__).resolve().parents[2]


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(expressions())
def test_scan_never_counts_less_than_the_structure_built(g: Gen) -> None:
    shape = measure(g.text)
    assert shape.depth >= g.depth and shape.chain >= g.chain
    lim = default_limits()
    beyond = g.depth > lim.max_depth or g.chain > lim.max_chain
    if _surely_within(g.text, lim):  # the shortcut by character counts agrees with the scan
        assert shape.depth <= lim.max_depth and shape.chain <= lim.max_chain and shape.tree <= lim.max_tree
    try:
        check_expression(g.text)
    except ParseLimitError as e:
        assert str(e).split(": ", 1)[1].startswith("parse error: expression")
        return
    assert not beyond, "accepted a text beyond the limits"


def test_no_generated_expression_crashes_any_parse_path(tmp_path: Path) -> None:
    casefile = tmp_path / "case.txt"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    r = subprocess.run(
        [sys.executable, "-m", "tests.promql._parse_fuzz", "60", str(casefile)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    last = casefile.read_text(encoding="utf-8")[:300] if casefile.exists() else ""
    assert r.returncode == 0, f"exit {r.returncode} on {last!r}\n{r.stderr[-3000:]}"
    assert r.stdout.strip() == "ok 60"
