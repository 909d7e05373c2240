"""RE2 regex syntax in matchers (PromQL selectors, match[]), shared with relabeling and label_replace."""

from __future__ import annotations

import re

import pytest

from sloguard.labels import Matcher, MatchType, go_regex_to_python, parse_matchers_text


@pytest.mark.parametrize(
    ("pattern", "hits", "misses"),
    [
        ("a(?i)b", ["ab", "aB"], ["AB"]),
        ("[[:digit:]]+", ["123"], ["12a"]),
        (r"\pL+", ["abc"], ["ab1"]),
        (r"\Qa.b\E", ["a.b"], ["axb"]),
        (r"ab\z", ["ab"], ["abc"]),
        ("(?<x>a)b", ["ab"], ["b"]),
    ],
)
def test_regex_matchers_read_re2_syntax(pattern: str, hits: list[str], misses: list[str]) -> None:
    m = Matcher(MatchType.REGEX, "job", pattern)
    assert [h for h in hits if m.matches(h)] == hits
    assert [x for x in misses if m.matches(x)] == []


def test_match_param_selectors_read_re2_inline_flags() -> None:
    (m,) = [m for m in parse_matchers_text('{job=~"api(?i)-Prod"}') if m.name == "job"]
    assert m.matches("api-prod") and not m.matches("API-prod")


@pytest.mark.parametrize(("pattern", "message"), [("a(?=b)", "invalid or unsupported Perl syntax: `(?=`"),
                                                   (r"(a)\1", r"invalid escape sequence: `\1`")])
def test_perl_syntax_re2_refuses_is_refused(pattern: str, message: str) -> None:
    with pytest.raises(re.error, match=re.escape(message)):
        go_regex_to_python(pattern)
    with pytest.raises(ValueError, match=re.escape(message)):
        Matcher(MatchType.REGEX, "job", pattern)
