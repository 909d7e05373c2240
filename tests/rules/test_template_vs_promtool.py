"""Template expansion compared byte for byte with Go's, through promtool's failure report:
the alert tests expect nothing, so promtool prints every expanded annotation it got."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from sloguard.rules.unittest import run_rule_tests

DIR = Path(__file__).parent / "fixtures" / "templates"


def _ours() -> tuple[int, str]:
    lines: list[str] = []
    old = os.getcwd()
    os.chdir(DIR)
    try:
        rc = run_rule_tests(["test.yml"], lines.append, lines.append)
    finally:
        os.chdir(old)
    return rc, "".join(s + "\n" for s in lines)


def test_expansions_match_recorded_promtool_2_42_output() -> None:
    rc, out = _ours()
    assert rc == 1
    assert out == (DIR / "promtool-2.42.out").read_text()


@pytest.mark.peer
def test_expansions_match_real_promtool() -> None:
    if shutil.which("promtool") is None:
        pytest.skip("promtool not on PATH")
    p = subprocess.run(["promtool", "test", "rules", "test.yml"], cwd=DIR, capture_output=True, text=True, timeout=60)
    rc, out = _ours()
    assert rc == p.returncode
    # promtool writes "FAILED" and errors to stderr, the rest to stdout: compare the lines
    assert sorted(out.splitlines()) == sorted((p.stdout + p.stderr).splitlines())
