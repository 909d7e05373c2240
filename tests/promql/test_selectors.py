"""Selector details: RE2 inline flags, regex matchers, metric-name matchers."""

from __future__ import annotations

import re

import pytest

from sloguard.labels import Labels
from sloguard.promql import PromQLEngine, ValueType
from sloguard.tsdb.testing import MemoryStorage
from tests._goregex_python import go_regex_to_python


@pytest.mark.parametrize(
    ("pattern", "matches", "rejects"),
    [
        ("((?i)PRO).*", ["production", "PROD"], ["canary"]),
        (".*((?i)TION)", ["producTION", "production"], ["tio"]),
        ("a(?i)b|c", ["aB", "C", "c"], ["AB", "ac"]),
        ("(a|(?i)b|c)d", ["ad", "Bd", "Cd"], ["Ad", "aD"]),
        ("(?i)abc", ["ABC"], ["ab"]),
    ],
)
def test_re2_inline_flags_act_to_the_end_of_their_group(pattern: str, matches: list[str], rejects: list[str]) -> None:
    rx = re.compile(go_regex_to_python(pattern))
    assert all(rx.fullmatch(s) for s in matches)
    assert not any(rx.fullmatch(s) for s in rejects)


def test_selector_with_inline_flag_regex_and_name_regex() -> None:
    st = MemoryStorage()
    st.add(Labels.of(name__="req", group="production"), [0], [1.0])
    st.add(Labels.of(name__="req", group="canary"), [0], [2.0])
    st.add(Labels.of(name__="other", group="production"), [0], [3.0])
    e = PromQLEngine(st)
    r = e.instant_query('req{group=~".*((?i)DUC).*"}', 0)
    assert r.result_type is ValueType.VECTOR and isinstance(r.value, list)
    assert [str(s.labels) for s in r.value] == ['req{group="production"}']
    r = e.instant_query('{__name__=~"req|other", group!="canary"}', 0)
    assert isinstance(r.value, list)
    assert sorted(str(s.labels) for s in r.value) == [
        'other{group="production"}', 'req{group="production"}']
