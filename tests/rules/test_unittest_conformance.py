"""`sloguard test rules` against promtool 2.42's recorded outputs and exit codes
(/work/shared/conformance/promtool), and against the real promtool as a peer."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.rules._promtool_runs import run_ours
from tests.shared_paths import PROMTOOL_CONFORMANCE, needs

CONF = PROMTOOL_CONFORMANCE
pytestmark = needs(CONF)


def _expected() -> list[tuple[str, int, str]]:
    rows: list[tuple[str, int, str]] = []
    if not CONF.is_dir():
        return rows
    for line in (CONF / "EXPECTED_promtool-2.42.0.tsv").read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, code, note = (line.split("\t") + [""])[:3]
        rows.append((name, int(code), note))
    return rows


def _run(name: str, cwd: Path = CONF) -> tuple[int, str]:
    return run_ours(cwd, name)


# The engine lists the two duplicate series of a many-to-many error in its own order;
# promtool's order differs between rule and expression evaluation, so compare up to it.
_ORDER_SENSITIVE = "on the right hand-side of the operation: ["


def _key_lines(text: str) -> list[str]:
    return [ln.split(_ORDER_SENSITIVE)[0] for ln in text.splitlines()]


@pytest.mark.parametrize(("name", "code", "note"), _expected(), ids=[r[0] for r in _expected()])
def test_exit_code_and_output_match_promtool_2_42(name: str, code: int, note: str) -> None:
    rc, out = _run(name)
    assert rc == code
    assert note.split(_ORDER_SENSITIVE)[0][:80] in out
    recorded = CONF / "expected-output" / (name.removesuffix(".yml") + ".out")
    if recorded.exists():
        assert _key_lines(out) == _key_lines(recorded.read_text())


def test_docs_example_passes() -> None:
    assert _run("test.yml", CONF / "docs-example") == (0, "Unit Testing:  test.yml\n  SUCCESS\n\n")


def test_missing_alertname_is_reported(tmp_path: Path) -> None:
    (tmp_path / "t.yml").write_text("tests:\n  - name: G\n    alert_rule_test:\n      - eval_time: 5m\n")
    rc, out = _run("t.yml", tmp_path)
    assert rc == 1
    assert "an item under alert_rule_test misses required attribute alertname at eval_time 5m (in TestGroup G)" in out


def test_unknown_field_is_a_strict_yaml_error(tmp_path: Path) -> None:
    (tmp_path / "t.yml").write_text("tests:\n  - intervall: 1m\n")
    rc, out = _run("t.yml", tmp_path)
    assert rc == 1 and "field intervall not found in type main.testGroup" in out


def test_external_labels_reach_templates(tmp_path: Path) -> None:
    (tmp_path / "r.yml").write_text(
        "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: vector(1)\n"
        "    annotations:\n      where: '{{ $externalLabels.dc }} {{ $externalURL }}'\n"
    )
    (tmp_path / "t.yml").write_text(
        "rule_files: [r.yml]\ntests:\n- external_labels: {dc: eu1}\n  external_url: http://prom\n"
        "  alert_rule_test:\n  - eval_time: 1m\n    alertname: A\n"
        "    exp_alerts:\n    - exp_annotations: {where: 'eu1 http://prom'}\n"
    )
    assert _run("t.yml", tmp_path)[0] == 0


@pytest.mark.peer
@pytest.mark.parametrize("name", [r[0] for r in _expected()])
def test_real_promtool_agrees_with_the_recorded_expectations(name: str) -> None:
    if shutil.which("promtool") is None:
        pytest.skip("promtool not on PATH")
    p = subprocess.run(["promtool", "test", "rules", name], cwd=CONF, capture_output=True, text=True, timeout=120)
    expected = {n: c for n, c, _ in _expected()}
    assert p.returncode == expected[name]  # sloguard's side is checked against the same table above
