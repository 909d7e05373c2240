"""Template expansion compared byte for byte with Go's, through promtool's failure report:
the alert tests expect nothing, so promtool prints every expanded annotation it got
(formatting functions, printf verbs, float printing, and error texts with positions)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.rules._promtool_runs import run_ours

DIR = Path(__file__).parent / "fixtures" / "templates"
FILES = sorted(p.name for p in DIR.glob("*_test.yml"))


def _ours(name: str) -> tuple[int, str]:
    return run_ours(DIR, name)


@pytest.mark.parametrize("name", FILES)
def test_expansions_match_recorded_promtool_2_42_output(name: str) -> None:
    rc, out = _ours(name)
    assert rc == 1
    assert out == (DIR / name.replace(".yml", ".promtool-2.42.out")).read_text()


@pytest.mark.peer
@pytest.mark.parametrize("name", FILES)
def test_expansions_match_real_promtool(name: str) -> None:
    if shutil.which("promtool") is None:
        pytest.skip("promtool not on PATH")
    p = subprocess.run(["promtool", "test", "rules", name], cwd=DIR, capture_output=True, text=True, timeout=60)
    rc, out = _ours(name)
    assert rc == p.returncode
    # promtool writes "FAILED" and errors to stderr, the rest to stdout: compare the lines
    assert sorted(out.splitlines()) == sorted((p.stdout + p.stderr).splitlines())
