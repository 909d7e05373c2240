import pytest

from sloguard.labels import (
    InvalidLabelError,
    Labels,
    Matcher,
    MatchType,
    check_labels,
)
from sloguard.promql import parse_matchers_text


def test_labels_sorted_and_empty_values_dropped() -> None:
    ls = Labels([("b", "2"), ("a", "1"), ("c", "")])
    assert list(ls) == [("a", "1"), ("b", "2")]
    assert ls == Labels([("a", "1"), ("b", "2")])
    assert hash(ls) == hash(Labels.from_dict({"b": "2", "a": "1"}))


def test_labels_text_form_puts_name_outside_braces() -> None:
    assert str(Labels.of(name__="up", job="x")) == 'up{job="x"}'
    assert str(Labels.of(job='a"b')) == '{job="a\\"b"}'


def test_regex_matchers_are_fully_anchored() -> None:
    m = Matcher(MatchType.REGEX, "job", "api")
    assert m.matches("api")
    assert not m.matches("api-server")
    assert not m.matches("my-api")
    assert Matcher(MatchType.NOT_REGEX, "job", "a.*").matches("ba")


def test_absent_label_matches_as_empty() -> None:
    assert Matcher(MatchType.EQUAL, "x", "").matches_empty()
    assert not Matcher(MatchType.NOT_EQUAL, "x", "").matches_empty()


def test_bad_regex_names_label() -> None:
    with pytest.raises(ValueError, match="'job'"):
        Matcher(MatchType.REGEX, "job", "a(")


@pytest.mark.parametrize(
    ("pairs", "needle"),
    [
        ([("__name__", "up"), ("1abc", "x")], "'1abc'"),
        ([("__name__", "up"), ("__meta", "x")], "reserved"),
        ([("__name__", "up-down")], "invalid metric name"),
        ([("job", "x")], "no metric name"),
    ],
)
def test_invalid_label_sets_are_named(pairs: list[tuple[str, str]], needle: str) -> None:
    with pytest.raises(InvalidLabelError, match=needle):
        check_labels(pairs)


def test_parse_matchers_text_requires_non_empty_matcher() -> None:
    ms = parse_matchers_text('up{job=~"a|b"}')
    assert [str(m) for m in ms] == ['__name__="up"', 'job=~"a|b"']
    with pytest.raises(ValueError, match="non-empty"):
        parse_matchers_text('{job=~".*"}')
