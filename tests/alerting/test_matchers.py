"""Alertmanager's matcher syntax, as in `matchers:`, silences and amtool."""

from __future__ import annotations

import pytest

from sloguard.alerting import (
    MatcherParseError,
    format_matchers,
    parse_matcher,
    parse_matchers,
    sort_matchers,
)
from sloguard.labels import MatchType


def test_braces_commas_and_quotes() -> None:
    ms = parse_matchers('{a="b,c", d!~"e|f" , g=h}')
    assert [(m.name, m.type, m.value) for m in ms] == [
        ("a", MatchType.EQUAL, "b,c"), ("d", MatchType.NOT_REGEX, "e|f"), ("g", MatchType.EQUAL, "h")]


def test_escapes_in_quoted_values() -> None:
    assert parse_matcher(r'a="x\"y\\z\nw"').value == 'x"y\\z\nw'
    assert parse_matcher(r'a="x\dy"').value == r"x\dy"  # a spurious escape stays literal


def test_bare_values_and_spaces() -> None:
    m = parse_matcher("  severity = page  ")
    assert (m.name, m.value) == ("severity", "page")


@pytest.mark.parametrize(("text", "error"), [
    ("a", "bad matcher format: a"),
    ('a="b', "matcher value contains unescaped double quote"),
    ('a="b"c"', "matcher value contains unescaped double quote"),
    ("1a=b", "bad matcher format"),
])
def test_bad_matchers_get_alertmanagers_words(text: str, error: str) -> None:
    with pytest.raises(MatcherParseError, match=error):
        parse_matcher(text)


def test_regex_matchers_are_anchored() -> None:
    m = parse_matcher('env=~"prod"')
    assert m.matches("prod") and not m.matches("production")


def test_sorted_by_name_value_then_type_and_printed_like_alertmanager() -> None:
    ms = sort_matchers(parse_matchers('b="1", a!="2", a="2", a="1"'))
    assert format_matchers(ms) == '{a="1",a="2",a!="2",b="1"}'
