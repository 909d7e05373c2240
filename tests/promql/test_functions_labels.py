"""label_replace's Go template expansion, RE2-to-Python translation, and row merging."""

from __future__ import annotations

import re

import numpy as np
import pytest

from sloguard.labels import Labels
from sloguard.promql import PromQLError
from sloguard.promql.functions._common import finish_vector
from sloguard.promql.functions._labels import expand_template
from tests._goregex_python import go_regex_to_python


def _m(pattern: str, text: str) -> re.Match[str]:
    m = re.fullmatch(pattern, text)
    assert m is not None
    return m


@pytest.mark.parametrize(
    ("template", "want"),
    [
        ("$1-$2", "a-b"),
        ("${1}x", "ax"),
        ("$1x", ""),  # Go reads the name "1x": no such group
        ("$$1", "$1"),
        ("$name", "b"),
        ("${name}!", "b!"),
        ("$9", ""),
        ("$", "$"),
        ("a$-b", "a$-b"),
        ("$01", ""),  # leading zeros make it a name, not a number
    ],
)
def test_expand_template_like_go(template: str, want: str) -> None:
    assert expand_template(template, _m(r"(.)-(?P<name>.)", "a-b")) == want


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        ("((?i)PRO).*", "production", True),
        ("a(?i)b|c", "C", True),  # the flag reaches across the alternation
        ("a(?i)b|c", "AB", False),
        ("(?i)a(?-i)b", "Ab", True),
        ("(?i)a(?-i)b", "AB", False),
        ("[[:digit:]]+", "123", True),
        ("[^[:space:]]+", "a b", False),
        (r"\Qa.b\E", "axb", False),
        (r"a\z", "a", True),
        (r"\pL+", "héllo", True),
        (r"\PL", "1", True),
        (r"[\pN_]+", "1_2", True),
        (r"\p{^L}", "a", False),
    ],
)
def test_go_regex_translation(pattern: str, text: str, matches: bool) -> None:
    assert (re.fullmatch("(?:" + go_regex_to_python(pattern) + ")", text) is not None) is matches


def test_rows_with_equal_labels_merge_when_disjoint_in_time() -> None:
    ls = [Labels.of(a="1"), Labels.of(a="1")]
    v = finish_vector(ls, np.array([[1.0, 0.0], [0.0, 2.0]]), np.array([[True, False], [False, True]]))
    assert v.labels == [Labels.of(a="1")]
    assert v.values.tolist() == [[1.0, 2.0]] and v.present.all()


def test_rows_with_equal_labels_at_one_step_are_an_error() -> None:
    ls = [Labels.of(a="1"), Labels.of(a="1")]
    with pytest.raises(PromQLError, match="same labelset"):
        finish_vector(ls, np.ones((2, 2)), np.array([[True, False], [True, True]]))


def test_strict_mode_rejects_equal_labels_even_when_disjoint() -> None:
    ls = [Labels.of(a="1"), Labels.of(a="1")]
    with pytest.raises(PromQLError, match="same labelset"):
        finish_vector(ls, np.ones((2, 2)), np.array([[True, False], [False, True]]), strict=True)
