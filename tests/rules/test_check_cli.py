"""`sloguard rules check` reports and exits like `promtool check rules`."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from sloguard.rules import check_rules
from tests.shared_paths import PROMTOOL_CONFORMANCE, needs

FIXTURES = Path(__file__).parent / "fixtures" / "check"
CONFORMANCE = PROMTOOL_CONFORMANCE
pytestmark = needs(CONFORMANCE)
CASES = [
    (CONFORMANCE, "rules.yml"),
    (CONFORMANCE, "rules_duplicates.yml"),
    (CONFORMANCE, "prometheus-rules.lint.yml"),
    (CONFORMANCE, "bad-rules-syntax.yml"),
] + [(FIXTURES, p.name) for p in sorted(FIXTURES.glob("*.yml"))]
RECORDED = sorted(p.name for p in FIXTURES.glob("*.yml"))


def _run(cmd: list[str], cwd: Path) -> tuple[int, str, str]:
    p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def _sloguard(args: list[str], cwd: Path) -> tuple[int, str, str]:
    """``sloguard rules check [--lint-fatal] FILE...`` in-process (what the CLI command calls)."""
    assert args[:2] == ["rules", "check"]
    fatal = "--lint-fatal" in args
    files = [a for a in args[2:] if not a.startswith("--")]
    out: list[str] = []
    err: list[str] = []
    old = os.getcwd()
    os.chdir(cwd)
    try:
        rc = check_rules(files, out.append, err.append, lint_fatal=fatal)
    finally:
        os.chdir(old)
    return rc, "".join(s + "\n" for s in out), "".join(s + "\n" for s in err)


def test_cli_command_is_registered_and_exits_with_the_code() -> None:
    import typer
    from typer.testing import CliRunner

    from sloguard.cli import _rules

    app = typer.Typer()
    _rules.register(app)
    r = CliRunner().invoke(app, ["rules", "check", str(CONFORMANCE / "bad-rules-syntax.yml")])
    assert r.exit_code == 1
    assert "could not parse expression" in r.stderr


def test_valid_file_prints_success_with_rule_count() -> None:
    rc, out, _ = _sloguard(["rules", "check", "rules.yml"], CONFORMANCE)
    assert rc == 0
    assert out == "Checking rules.yml\n  SUCCESS: 5 rules found\n\n"


def test_invalid_file_exits_1_and_names_file_group_rule() -> None:
    rc, out, err = _sloguard(["rules", "check", "bad-rules-syntax.yml"], CONFORMANCE)
    assert rc == 1
    assert out == "Checking bad-rules-syntax.yml\n\n"
    assert 'bad-rules-syntax.yml: 7:15: group "bad-syntax", rule 1, "x": could not parse' in err


def test_duplicates_are_lint_warnings_exit_0_unless_fatal() -> None:
    rc, _, err = _sloguard(["rules", "check", "rules_duplicates.yml"], CONFORMANCE)
    assert rc == 0
    assert "lint error 1 duplicate rule(s) found.\nMetric: job:test:count_over_time1m\n" in err
    rc, _, _ = _sloguard(["rules", "check", "--lint-fatal", "rules_duplicates.yml"], CONFORMANCE)
    assert rc == 3


@pytest.mark.parametrize("name", RECORDED)
def test_output_matches_recorded_promtool_2_42(name: str) -> None:
    """Exact stdout and exit code; stderr lines compared as a set (promtool iterates Go maps)."""
    stem = FIXTURES / name.removesuffix(".yml")
    rc, out, err = _sloguard(["rules", "check", name], FIXTURES)
    assert rc == int(stem.with_suffix(".rc").read_text())
    assert out == stem.with_suffix(".stdout").read_text()
    assert sorted(err.splitlines()) == sorted(stem.with_suffix(".stderr").read_text().splitlines())


@pytest.mark.peer
@pytest.mark.parametrize(("where", "name"), CASES)
def test_output_matches_real_promtool(where: Path, name: str) -> None:
    if shutil.which("promtool") is None:
        pytest.skip("promtool not on PATH")
    ours = _sloguard(["rules", "check", name], where)
    theirs = _run(["promtool", "check", "rules", name], where)
    assert ours[:2] == theirs[:2]
    assert sorted(ours[2].splitlines()) == sorted(theirs[2].splitlines())
