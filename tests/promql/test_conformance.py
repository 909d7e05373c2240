"""Prometheus' own PromQL test scripts, one pytest case per ``eval`` (file:line)."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

from sloguard.promql.testscript import (
    EvalResult,
    Outcome,
    parse_script,
    read_skips,
    run_script,
)

_HERE = Path(__file__).resolve().parent
_DIR = Path(
    os.environ.get("SLOGUARD_CONFORMANCE_DIR", _HERE.parents[2] / "shared" / "conformance" / "promql")
)
_SKIPS = read_skips((_HERE / "conformance_skips.txt").read_text())

def _files() -> list[Path]:
    return sorted(_DIR.glob("*.test")) if _DIR.is_dir() else []


@functools.cache
def _results(name: str) -> dict[int, EvalResult]:
    path = _DIR / name
    script = parse_script(path.read_text(), name)
    return {r.line: r for r in run_script(script, skips=_SKIPS.get(name, {}))}


def _cases() -> list[tuple[str, int]]:
    cases = []
    for path in _files():
        script = parse_script(path.read_text(), path.name)
        cases.extend((path.name, cmd.line) for cmd in script.evals)
    return cases


_CASES = _cases()


def _params() -> list[object]:
    out = []
    for name, line in _CASES:
        out.append(pytest.param(name, line, id=f"{name}:{line}"))
    return out


@pytest.mark.skipif(not _CASES, reason=f"no conformance scripts found in {_DIR}")
@pytest.mark.parametrize(("name", "line"), _params() or [pytest.param("none", 0, id="none")])
def test_eval(name: str, line: int) -> None:
    result = _results(name)[line]
    if result.outcome is Outcome.SKIPPED:
        pytest.skip(result.message)
    assert result.outcome is Outcome.PASSED, f"{result.where} {result.expr}: {result.message}"


def test_skip_list_only_names_existing_evals() -> None:
    known = set(_CASES)
    for name, lines in _SKIPS.items():
        for line in lines:
            assert (name, line) in known, f"skip entry {name}:{line} is not an eval"
