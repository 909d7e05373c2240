"""Rule behaviour (state machine, keep_firing_for, staleness, limits, chaining) compared with
promtool 2.42 on unit-test files written for sloguard: recorded outputs, and the real
promtool as a peer."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.rules._promtool_runs import run_ours

DIR = Path(__file__).parent / "fixtures" / "unittests"
FILES = sorted(p.name for p in DIR.glob("*_test.yml"))


def _ours(name: str) -> tuple[int, str]:
    return run_ours(DIR, name)


@pytest.mark.parametrize("name", FILES)
def test_output_matches_recorded_promtool(name: str) -> None:
    recorded = (DIR / name.replace(".yml", ".promtool-2.42.out")).read_text()
    rc, out = _ours(name)
    assert out == recorded
    assert rc == (0 if "  SUCCESS" in recorded else 1)


@pytest.mark.peer
@pytest.mark.parametrize("name", FILES)
def test_real_promtool_agrees(name: str) -> None:
    if shutil.which("promtool") is None:
        pytest.skip("promtool not on PATH")
    p = subprocess.run(["promtool", "test", "rules", name], cwd=DIR, capture_output=True, text=True, timeout=60)
    rc, out = _ours(name)
    assert rc == p.returncode
    assert sorted(out.splitlines()) == sorted((p.stdout + p.stderr).splitlines())
