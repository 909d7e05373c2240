"""Properties: the string fast paths and pre-checks agree with RE2, and RE2 agrees with
Python's ``re`` (on the old translation) wherever backtracking is safe and both read the
pattern alike."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from sloguard.labels import compile_go, fast_matcher
from sloguard.labels._fastregex import required_literal
from tests._goregex_python import go_regex_to_python

TEXT = st.text(alphabet="ab.-\n\u00e9", max_size=8)
LITERAL = st.text(alphabet="ab-\u00e9", max_size=3) | st.sampled_from(["\\.", "a\\-b", "\\."])
GAP = st.sampled_from([".*", ".+"])


@st.composite
def fast_shapes(draw: st.DrawFn) -> str:
    """Alternatives of literals joined by .* / .+ gaps, maybe wrapped in a group."""
    branches = []
    for _ in range(draw(st.integers(1, 3))):
        parts = [draw(LITERAL)]
        for _ in range(draw(st.integers(0, 3))):
            parts += [draw(GAP), draw(LITERAL)]
        branches.append("".join(parts))
    body = "|".join(branches)
    return draw(st.sampled_from([body, f"({body})", f"(?:{body})"]))


def _re2_full(pattern: str, text: str) -> bool:
    return compile_go(f"^(?:{pattern})$").matches(text)


@settings(max_examples=300, deadline=None)
@given(fast_shapes(), st.lists(TEXT, min_size=1, max_size=6))
def test_fast_paths_agree_with_re2(pattern: str, texts: list[str]) -> None:
    test = fast_matcher(pattern)
    assert test is not None, pattern
    assert [test(t) for t in texts] == [_re2_full(pattern, t) for t in texts]


ATOM = st.sampled_from(["a", "b", ".", "[ab]", "[^a]", "\\.", "(a|b)", "(?:ab|a)", "\\d", "é"])
QUANT = st.sampled_from(["", "", "*", "+", "?", "{2}", "{0,2}", "{1,}", "*?"])


@st.composite
def safe_patterns(draw: st.DrawFn) -> str:
    """Literals, classes, groups with alternation, bounded and unbounded repeats (one level)."""
    alts = []
    for _ in range(draw(st.integers(1, 2))):
        alts.append("".join(draw(ATOM) + draw(QUANT) for _ in range(draw(st.integers(0, 4)))))
    return "|".join(alts)


@settings(max_examples=300, deadline=None)
@given(safe_patterns(), st.lists(st.text(alphabet="ab.\n\u00e97", max_size=6), min_size=1, max_size=6))
def test_re2_agrees_with_python_re_on_a_safe_subset(pattern: str, texts: list[str]) -> None:
    py = re.compile(f"(?:{go_regex_to_python(pattern)})", re.ASCII)  # Go's \d is ASCII only
    assert [_re2_full(pattern, t) for t in texts] == [py.fullmatch(t) is not None for t in texts]


@settings(max_examples=300, deadline=None)
@given(safe_patterns(), st.lists(st.text(alphabet="ab.\n\u00e97", max_size=6), min_size=1, max_size=6))
def test_required_literal_is_in_every_match(pattern: str, texts: list[str]) -> None:
    needle = required_literal(pattern)
    for t in texts:
        if needle is not None and _re2_full(pattern, t):
            assert needle in t, (pattern, t, needle)
