"""Go's regexp (RE2 syntax, linear time) in matchers (PromQL selectors, match[]), shared with
relabeling, label_replace and template functions: semantics, error texts, and no backtracking."""

from __future__ import annotations

import re

import numpy as np
import pytest

from sloguard.labels import (
    GoRegexError,
    Labels,
    Matcher,
    MatchType,
    compile_anchored,
    compile_go,
)
from sloguard.labels._goregexp import MAX_MEM
from sloguard.promql import parse_matchers_text
from sloguard.tsdb._index import MemPostings
from tests._goregex_python import go_regex_to_python


def _hits(pattern: str, values: list[str]) -> list[str]:
    m = Matcher(MatchType.REGEX, "job", pattern)
    return [v for v in values if m.matches(v)]


@pytest.mark.parametrize(
    ("pattern", "hits", "misses"),
    [
        ("a(?i)b", ["ab", "aB"], ["AB"]),
        ("a(?i:b)c", ["aBc"], ["aBC"]),
        ("x|(?i)y", ["x", "Y"], ["X"]),
        ("[[:digit:]]+", ["123"], ["12a", "١٢"]),
        ("[[:^alpha:]]", ["1", "é"], ["a"]),
        (r"\pL+", ["abc", "éß", "日本"], ["ab1"]),
        (r"\p{Greek}+", ["αβγ"], ["abc"]),
        (r"\PN", ["a"], ["7", "٣"]),
        (r"\d", ["7"], ["٣", "７"]),  # Go's \d is ASCII only; Python's \d is not
        (r"\w+", ["a_1"], ["é"]),
        (r"\Qa.b\E", ["a.b"], ["axb"]),
        (r"ab\z", ["ab"], ["abc"]),
        ("(?<x>a)b", ["ab"], ["b"]),  # Go 1.22+'s spelling of (?P<x>a)
        ("(?P<x>a)b", ["ab"], ["b"]),
        ("a", ["a"], ["ab", "ba", "a\n"]),  # anchored at both ends, no trailing-newline slack
        ("a|b", ["a", "b"], ["ab"]),
        ("a|", ["a", ""], ["b"]),
        ("|", [""], ["a"]),
        ("", [""], ["a"]),
        ("a.c", ["abc", "aéc", "a😀c"], ["a\nc", "ac", "aééc"]),
        (".*", ["", "abc"], ["a\nb"]),
        ("(?s).*", ["a\nb"], []),
        ("[^a]", ["\n", "b"], ["a"]),
        ("(?m)a$", ["a"], ["a\n"]),
        ("(?U)a+", ["aaa"], ["b"]),
        (r"\x{263a}", ["☺"], ["a"]),
        ("a{2,3}", ["aa", "aaa"], ["a", "aaaa"]),
    ],
)
def test_regex_matchers_read_go_syntax(pattern: str, hits: list[str], misses: list[str]) -> None:
    assert _hits(pattern, hits) == hits
    assert _hits(pattern, misses) == []


def test_match_param_selectors_read_re2_inline_flags() -> None:
    (m,) = [m for m in parse_matchers_text('{job=~"api(?i)-Prod"}') if m.name == "job"]
    assert m.matches("api-prod") and not m.matches("API-prod")


def test_invalid_utf8_bytes_count_as_one_character_each() -> None:
    value = "a\udcffb"  # a byte 0xff decoded with surrogateescape, as Go sees U+FFFD
    assert _hits("a.b", [value]) == [value]
    assert _hits(".*", [value]) == [value]
    assert _hits("a\ufffdb", [value]) == [value]
    m = compile_anchored("a(.)b").submatch(value)
    assert m is not None and m.group(1) == "\udcff"


def test_case_insensitive_matching_folds_like_go() -> None:
    m = Matcher(MatchType.REGEX, "job", "(?i)k8s-.*")
    assert [m.matches(v) for v in ("K8S-a", "k8s-b", "\u212a8s-c", "x8s-d", "K8S-\n")] == [True, True, True, False, False]


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("(", "missing closing ): `^(?:()$`"),
        ("a**", "invalid nested repetition operator: `**`"),
        ("a+?+", "invalid nested repetition operator: `+?+`"),
        ("[a", "missing closing ]: `[a)$`"),
        ("a)", "unexpected ): `^(?:a))$`"),
        ("a)|(b", "unexpected ): `a)|(b`"),  # compiles anchored, but not alone: Prometheus refuses it
        ("*a", "missing argument to repetition operator: `*`"),
        (r"\q", r"invalid escape sequence: `\q`"),
        (r"\C", r"invalid escape sequence: `\C`"),
        (r"\Z", r"invalid escape sequence: `\Z`"),
        (r"(a)\1", r"invalid escape sequence: `\1`"),
        ("a(?=b)", "invalid or unsupported Perl syntax: `(?=`"),
        ("(?<=a)b", "invalid or unsupported Perl syntax: `(?<`"),
        ("(?#c)", "invalid or unsupported Perl syntax: `(?#`"),
        ("(?i-)", "invalid or unsupported Perl syntax: `(?i-)`"),
        ("a{1001}", "invalid repeat count: `{1001}`"),
        ("x{2,1}", "invalid repeat count: `{2,1}`"),
        ("a{2}{1001}?", "invalid repeat count: `{1001}`"),
        ("(a{1000}){1000}", "invalid repeat count: `{1000}`"),
        ("[z-a]", "invalid character class range: `z-a`"),
        ("[[:foo:]]", "invalid character class range: `[:foo:]`"),
        (r"\p{Foo}", r"invalid character class range: `\p{Foo}`"),
        ("(?P<é>x)", "invalid named capture: `(?P<é>`"),
        (r"\Qab", r"missing closing ): `^(?:\Qab)$`"),
        ("a\\", "missing closing ): `^(?:a\\)$`"),
        ("(" * 999 + "a" + ")" * 999, "expression nests too deeply: `^(?:" + "(" * 999),
    ],
)
def test_invalid_patterns_get_gos_error_text(pattern: str, message: str) -> None:
    with pytest.raises(GoRegexError) as err:
        compile_anchored(pattern)
    assert str(err.value).startswith(f"error parsing regexp: {message}")
    with pytest.raises(ValueError, match=re.escape(message[:40])):
        Matcher(MatchType.REGEX, "job", pattern)


def test_matchers_name_the_label_and_pattern_in_their_error() -> None:
    with pytest.raises(ValueError, match=r"invalid regular expression 'a\(\?=b\)' in matcher for label 'job'"):
        Matcher(MatchType.NOT_REGEX, "job", "a(?=b)")


def test_a_pattern_too_large_is_an_error_not_a_slow_compile() -> None:
    pattern = "[\\pL\\pN]{1000}" * 40  # Go accepts it; its RE2 program would pass MAX_MEM
    with pytest.raises(GoRegexError, match="^error parsing regexp: expression too large: "):
        compile_anchored(pattern)
    assert MAX_MEM <= 64 << 20


def test_nested_quantifiers_do_not_backtrack() -> None:
    """The reproduction: (a+)+c? over a's and a '!' took Python's re 2^n steps (n=30 froze
    the server for two minutes). In RE2 it is linear; the timeout ends a regression."""
    values = ["a" * n + "!" for n in (18, 22, 26, 30, 5000)] + ["a" * 40, "aaac"]
    assert _hits("(a+)+c?", values) == ["a" * 40, "aaac"]
    assert _hits("(a|aa)*b", values) == []
    assert _hits("(.*a){20}", ["a" * 30 + "!"]) == []
    m = Matcher(MatchType.NOT_REGEX, "v", "(a+)+c?")
    assert [v for v in values if m.matches(v)] == values[:5]


def test_index_resolves_a_pathological_regex_over_many_values() -> None:
    index = MemPostings()
    for i in range(200):
        index.add(i, Labels.from_dict({"v": "a" * (20 + i % 15) + "!"}))
    index.add(200, Labels.from_dict({"v": "aaaa"}))
    ids = index.resolve([Matcher(MatchType.REGEX, "v", "(a+)+c?")])
    assert ids.tolist() == [200]
    assert np.array_equal(index.resolve([Matcher(MatchType.NOT_REGEX, "v", "(a+)+c?")]), np.arange(200))


def test_submatches_and_names_follow_go() -> None:
    m = compile_anchored(r"(?P<host>[^:]+):(\d+)|(x)").submatch("hé.example:9100")
    assert m is not None
    assert (m.group(0), m.group("host"), m.group(2), m.group(3)) == ("hé.example:9100", "hé.example", "9100", None)
    with pytest.raises(IndexError):
        m.group(4)
    with pytest.raises(IndexError):
        m.group("port")


@pytest.mark.parametrize(
    ("pattern", "text", "want"),
    [
        ("a*", "baaac", "<>b<aaa>c<>"),  # no empty match right after a match, as in Go
        ("", "hé", "<>h<>é<>"),
        ("l+", "héllo wörld", "hé<ll>o wör<l>d"),
        ("^|$", "ab", "<>ab<>"),
        (r"\b", "a b", "<>a<> <>b<>"),
        ("x*", "", "<>"),
    ],
)
def test_replace_all_is_gos_replace_all_string(pattern: str, text: str, want: str) -> None:
    assert compile_go(pattern).replace_all(text, lambda m: f"<{m.group(0)}>") == want


def test_unanchored_compile_searches() -> None:
    assert compile_go("b+").matches("abbbc")
    assert not compile_go("^b").matches("ab")
    assert not compile_go("(a+)+c").matches("a" * 5000 + "!")


@pytest.mark.parametrize(("pattern", "message"), [("a(?=b)", "invalid or unsupported Perl syntax: `(?=`"),
                                                   (r"(a)\1", r"invalid escape sequence: `\1`")])
def test_python_translation_refuses_perl_syntax_too(pattern: str, message: str) -> None:
    with pytest.raises(re.error, match=re.escape(message)):
        go_regex_to_python(pattern)


def test_small_regexes_are_compiled_once_large_ones_are_not_kept() -> None:
    assert compile_anchored("[a-z]+-x") is compile_anchored("[a-z]+-x")
    big = r"[\pL\pN]{100}"  # a large program: matched by the regexp itself, never cached
    first = compile_anchored(big)
    assert first.program_size > 20_000 and compile_anchored(big) is not first
    assert first.matches("é" * 100) and not first.matches("é" * 99) and not first.matches("é" * 99 + "!")


def test_match_param_reads_go_syntax_the_parser_regex_lacks() -> None:
    (m,) = parse_matchers_text(r'{job=~"\\Qa.b\\E|(?P<n>x)(?P<n>y)"}')
    assert m.matches("a.b") and m.matches("xy") and not m.matches("axb")


@pytest.mark.parametrize(
    ("selector", "message"),
    [
        ('{a=~"("}', "1:2: parse error: error parsing regexp: missing closing ): `^(?:()$`"),
        ('{a=~"(?=x)"}', "1:2: parse error: error parsing regexp: invalid or unsupported Perl syntax: `(?=`"),
        (r'{a=~"\\Qa"}', r"1:2: parse error: error parsing regexp: missing closing ): `^(?:\Qa)$`"),
    ],
)
def test_match_param_regex_errors_are_prometheus_words(selector: str, message: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_matchers_text(selector)
    assert str(err.value).endswith(f": {message}")
