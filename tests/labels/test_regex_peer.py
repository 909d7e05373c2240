"""Peer tests: every pattern gets the same verdict and error text as Prometheus 2.42's Go
regexp, read from ``promtool check rules`` (matchers ``x{a=~`<pattern>`}``), and selects the
same values, read from ``promtool test rules``.

Patterns are drawn (seeded) from regex syntax pieces, so that odd mixtures of escapes,
classes, groups, flags and repeats are compared, not only hand-picked cases. One documented
difference is left out: ``(?<name>...)``, which sloguard reads as Go 1.22+ does.
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from sloguard.labels import Matcher, MatchType

pytestmark = pytest.mark.peer

PIECES = list("ab()?:*+{},10[]^$-\\|.PiUsm<>=!") + [
    "\\Q", "\\E", "\\C", "\\z", "\\Z", "\\d", "\\pL", "\\p{Greek}", "\\p{^Greek}", "\\pX", "[[:alpha:]]", "[[:^space:]]",
    "[[:foo:]]", "[:", ":]", "(?i)", "(?-i)", "(?i:", "(?P<n>", "(?P<", "(?P=", "(?#", "(?<=", "{2}", "{1,3}", "{0,}",
    "{1001}", "{2,1}", "é", "\\x{41}", "\\x{110000}", "\\x", "\\b", "(?", "\\8", "\\0", "\\p", "\\P", "{", "\\pN",
    "(?U)", "(?s)", "\\A", "\\v", "\\_", "[^", "[a-", "z", "\\W", "Σ", "\\1",
]


def _patterns(seed: int, count: int) -> list[str]:
    rnd = random.Random(seed)
    out: set[str] = set()
    while len(out) < count:
        p = "".join(rnd.choice(PIECES) for _ in range(rnd.randint(1, 12)))
        if "(?<" not in p or "(?<=" in p:
            out.add(p)
    return sorted(out)


def _promtool_verdicts(patterns: list[str], tmp: Path) -> list[str | None]:
    lines = ["groups:", "- name: g", "  rules:"]
    for i, p in enumerate(patterns):
        lines += [f"  - record: r{i}", "    expr: |-", "      x{a=~`" + p + "`}"]
    path = tmp / "rules.yml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    verdicts: list[str | None] = [None] * len(patterns)
    for ln in (run.stdout + run.stderr).splitlines():
        m = re.search(r'rule (\d+), "r\d+": could not parse expression: 1:3: parse error: (.*)$', ln)
        if m:
            verdicts[int(m[1]) - 1] = m[2]
    return verdicts


def _ours(pattern: str) -> str | None:
    try:
        Matcher(MatchType.REGEX, "a", pattern)
    except ValueError as e:
        return "error parsing regexp: " + str(e).split(": error parsing regexp: ", 1)[1]
    return None


def test_regex_errors_match_prometheus_2_42(tmp_path: Path) -> None:
    if shutil.which("promtool") is None:
        pytest.skip("promtool is not installed")
    patterns = _patterns(seed=8, count=2500)
    go = _promtool_verdicts(patterns, tmp_path)
    assert sum(v is not None for v in go) > 500 and sum(v is None for v in go) > 200  # both kinds compared
    diffs = [(p, g, o) for p, g in zip(patterns, go, strict=True) if (o := _ours(p)) != g]
    assert diffs == []



VALUES = ["", "a", "A", "ab", "a\nb", "foo\n", "é", "É", "ß", "\u212a", "k", "K", "\u017f", "s", "٣", "7", "αβ", "a.b",
          "\t", " ", "😀", "aaa!", "x-prod", "api-7", "API-x", "GET", "get", "a-b-c", "[x]", "\\"]
MATCH_PATTERNS = [
    ".*", ".+", "", "a|", "a", "(a|b)", "(?:GET|POST)", "api-.*", ".*-prod", ".*b.*", "a.*b", "a.+b", "a.b", "a\\.b",
    "(?i)k", "(?i)s", "(?i)get", "(?i)api-.*", "(?i)é", "(?i)ß", "\\pL+", "\\p{Greek}+", "\\d", "\\w+", "\\s",
    "[[:alpha:]]+", "[[:punct:]]", "[^a]", "(?s).*", "(?s)a.b", "(?m)^a$", "\\x{1F600}", "\\Qa.b\\E", ".",
    "..", "[a-c]-.*", "(a+)+!", "\\\\", "\\[x\\]", "(?U)a+", "\\b\\w+\\b", "a$", "^a", "\\Aa\\z",
    "[\\d\\pL]+", "\\PL", "(?i)\\pL", "\\p{Lu}", "[^\\n]*",
]


def _promtool_matches(patterns: list[str], tmp: Path) -> list[set[int]]:
    lines = ["rule_files: []", "tests:", "- interval: 1m", "  input_series:"]
    for i, v in enumerate(VALUES):
        lines += [f"  - series: 's{{i=\"{i}\", v={_quote(v)}}}'", "    values: '1'"]
    lines.append("  promql_expr_test:")
    for n, p in enumerate(patterns):
        lines += [f"  - expr: 's{{v=~`{p}`, i!=\"x{n}\"}}'", "    eval_time: 0m", "    exp_samples: []"]
    path = tmp / "tests.yml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = subprocess.run(["promtool", "test", "rules", str(path)], capture_output=True, text=True, timeout=60)
    got: list[set[int]] = [set() for _ in patterns]
    current = -1
    for ln in (run.stdout + run.stderr).splitlines():
        if (m := re.search(r'i!=\\"x(\d+)\\"', ln)) is not None:
            current = int(m[1])
        elif ln.strip().startswith("got:"):
            got[current] = {int(i) for i in re.findall(r'i="(\d+)"', ln)}
    return got


def _quote(v: str) -> str:
    return '"' + v.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace('"', '\\"') + '"'


def test_regex_matches_select_what_prometheus_2_42_selects(tmp_path: Path) -> None:
    if shutil.which("promtool") is None:
        pytest.skip("promtool is not installed")
    go = _promtool_matches(MATCH_PATTERNS, tmp_path)
    assert any(go) and not all(len(g) == len(VALUES) for g in go)  # promtool answered
    ours = [{i for i, v in enumerate(VALUES) if Matcher(MatchType.REGEX, "v", p).matches(v)} for p in MATCH_PATTERNS]
    diffs = [(p, sorted(VALUES[i] for i in g ^ o)) for p, g, o in zip(MATCH_PATTERNS, go, ours, strict=True) if g != o]
    assert diffs == []
