"""Rule files and SLO specs with expressions beyond the parse limits are refused with the
file, the rule (or SLO) and the limit named; nothing crashes (``rules check`` exited 139)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sloguard.rules import RuleFileError, load_rule_file
from sloguard.slo.loader import load_text

DEEP = "(" * 9000 + "1" + ")" * 9000
OR_CHAIN = " or ".join(["up"] * 80_000)


def _rule_file(tmp_path: Path) -> Path:
    p = tmp_path / "deep.yml"
    p.write_text(
        "groups:\n- name: g1\n  rules:\n"
        "  - record: ok:rec\n    expr: sum(up)\n"
        f"  - record: deep:rec\n    expr: '{DEEP}'\n"
        f"  - alert: LongChain\n    expr: '{OR_CHAIN}'\n"
    )
    return p


def test_rules_check_exits_1_naming_file_group_rule_and_limit(tmp_path: Path) -> None:
    p = _rule_file(tmp_path)
    r = subprocess.run([sys.executable, "-m", "sloguard.cli", "rules", "check", str(p)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1, (r.returncode, r.stderr[-500:])
    assert (f'{p}: 7:11: group "g1", rule 2, "deep:rec": could not parse expression: 1:201: parse error: '
            "expression nests deeper than the limit of 200 levels (query.max_parse_depth)") in r.stderr
    assert 'rule 3, "LongChain"' in r.stderr and "(query.max_parse_chain)" in r.stderr


def test_loading_a_rule_file_beyond_the_limits_is_an_error_not_a_crash(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match=r"deep:rec.*query\.max_parse_depth"):
        load_rule_file(_rule_file(tmp_path))


@pytest.mark.parametrize(
    ("sli", "needle"),
    [
        (f"{{ratio: {{bad: '{DEEP}', total: requests_total}}}}", "query.max_parse_depth"),
        (f"{{ratio: {{bad: 'errors_total', total: '{OR_CHAIN}'}}}}", "query.max_parse_chain"),
        (f"{{raw: {{error_ratio_query: '{DEEP}'}}}}", "query.max_parse_depth"),
    ],
)
def test_slo_specs_beyond_the_limits_name_the_slo_and_limit(sli: str, needle: str) -> None:
    text = f"""
apiVersion: sloguard/v1
service: s
slos:
  - name: deep
    objective: 99.9
    sli: {sli}
  - name: fine
    objective: 99.9
    sli: {{ratio: {{bad: errors_total, total: requests_total}}}}
"""
    slos, problems = load_text(text, "spec.yml")
    joined = "\n".join(str(p) for p in problems)
    assert "slos[0].sli" in joined and needle in joined, joined[:500]
    assert len(joined) < 2000  # the text is not echoed whole
    assert [s.name for s in slos] == ["fine"]
