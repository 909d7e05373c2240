"""Relabeling: Prometheus' relabel_config actions, expansion rules and validation."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from sloguard.ingest.relabel import Action, RelabelConfig, relabel
from sloguard.labels import Labels


def rc(**kw: Any) -> RelabelConfig:
    return RelabelConfig.model_validate(kw)


def L(**kw: str) -> Labels:  # noqa: N802 - reads like a constructor
    return Labels.of(**kw)


def test_defaults_match_prometheus() -> None:
    c = RelabelConfig(target_label="x")
    assert (c.separator, c.regex.pattern, c.replacement, c.action, c.modulus) == (";", "(.*)", "$1", Action.REPLACE, 0)


@pytest.mark.parametrize(
    ("labels", "configs", "expected"),
    [
        # replace with groups and a fully anchored regex
        (L(a="foo", b="bar"), [rc(source_labels=["a"], regex="f(.*)", target_label="d", replacement="ch${1}-ch${1}")], L(a="foo", b="bar", d="choo-choo")),
        (L(a="foo"), [rc(source_labels=["a"], regex="o", target_label="d")], L(a="foo")),
        # several source labels joined by the separator
        (L(a="foo", b="bar"), [rc(source_labels=["a", "b"], separator="-", regex="(.*)-(.*)", target_label="c", replacement="${2}_$1")], L(a="foo", b="bar", c="bar_foo")),
        # Go reads "$2_" as the group named "2_", which does not exist
        (L(a="foo", b="bar"), [rc(source_labels=["a", "b"], separator="-", regex="(.*)-(.*)", target_label="c", replacement="$2_$1")], L(a="foo", b="bar", c="foo")),
        # an empty replacement deletes the target label
        (L(a="foo", b="bar"), [rc(source_labels=["a"], target_label="b", replacement="")], L(a="foo")),
        # an invalid target label after expansion is skipped
        (L(a="foo"), [rc(source_labels=["a"], regex="(f).*", target_label="$1$2x", replacement="y")], L(a="foo", f="y")),
        (L(a="1x"), [rc(source_labels=["a"], target_label="$1", replacement="y")], L(a="1x")),
        # named groups and $$
        (L(a="foo"), [rc(source_labels=["a"], regex="(?P<first>f)(?<rest>.*)", target_label="b", replacement="$$${rest}${first}")], L(a="foo", b="$oof")),
        # $1x is the (missing) group named "1x", as in Go
        (L(a="foo"), [rc(source_labels=["a"], regex="(f)oo", target_label="b", replacement="$1x")], L(a="foo")),
        # keep / drop
        (L(a="foo"), [rc(source_labels=["a"], regex="f.*", action="keep")], L(a="foo")),
        (L(a="foo"), [rc(source_labels=["a"], regex="f", action="keep")], None),
        (L(a="foo"), [rc(source_labels=["a"], regex="f.*", action="drop")], None),
        (L(a="foo"), [rc(source_labels=["a"], regex="f", action="drop")], L(a="foo")),
        # a missing source label is the empty string
        (L(a="foo"), [rc(source_labels=["zz"], regex="", action="drop")], None),
        # hashmod: md5, last 8 bytes big-endian (values from Prometheus' tests)
        (L(c="baz"), [rc(source_labels=["c"], target_label="d", modulus=1000, action="hashmod")], L(c="baz", d="976")),
        (L(a="foo\nbar"), [rc(source_labels=["a"], target_label="b", modulus=1000, action="hashmod")], L(a="foo\nbar", b="734")),
        # labelmap / labeldrop / labelkeep
        (L(a="foo", b1="bar", b2="baz"), [rc(regex="(b.*)", replacement="bar_${1}", action="labelmap")], L(a="foo", b1="bar", b2="baz", bar_b1="bar", bar_b2="baz")),
        (L(__meta_my_bar="aaa", a="b"), [rc(regex="__meta_(my.*)", action="labelmap")], L(__meta_my_bar="aaa", a="b", my_bar="aaa")),
        (L(a="foo", b1="bar", b2="baz"), [rc(regex="b.*", action="labeldrop")], L(a="foo")),
        (L(a="foo", b1="bar", b2="baz"), [rc(regex="b.*", action="labelkeep")], L(b1="bar", b2="baz")),
        # keepequal / dropequal / lowercase / uppercase
        (L(a="1", b="1"), [rc(source_labels=["a"], target_label="b", action="keepequal")], L(a="1", b="1")),
        (L(a="1", b="2"), [rc(source_labels=["a"], target_label="b", action="keepequal")], None),
        (L(a="1", b="1"), [rc(source_labels=["a"], target_label="b", action="dropequal")], None),
        (L(a="FoO"), [rc(source_labels=["a"], target_label="b", action="lowercase"), rc(source_labels=["a"], target_label="c", action="uppercase")], L(a="FoO", b="foo", c="FOO")),
        # steps apply in order, each to the previous result
        (L(a="foo"), [rc(source_labels=["a"], target_label="b"), rc(source_labels=["b"], regex="foo", action="keep")], L(a="foo", b="foo")),
    ],
)
def test_relabel_actions(labels: Labels, configs: list[RelabelConfig], expected: Labels | None) -> None:
    assert relabel(labels, configs) == expected


def test_action_names_are_case_insensitive() -> None:
    assert rc(action="LabelDrop", regex="x").action is Action.LABELDROP


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"action": "hashmod", "target_label": "a"}, "relabel configuration for hashmod requires non-zero modulus"),
        ({"action": "replace"}, "relabel configuration for replace action requires 'target_label' value"),
        ({"target_label": "1bad"}, '"1bad" is invalid \'target_label\' for replace action'),
        ({"action": "lowercase", "target_label": "a", "replacement": "x"}, "'replacement' can not be set for lowercase action"),
        ({"action": "labelmap", "replacement": "-"}, '"-" is invalid \'replacement\' for labelmap action'),
        ({"action": "labeldrop", "source_labels": ["a"]}, "labeldrop action requires only 'regex', and no other fields"),
        ({"action": "keepequal", "target_label": "a", "regex": "x"}, "keepequal action requires only 'source_labels' and 'target_label'"),
        ({"action": "explode"}, 'unknown relabel action "explode"'),
        ({"target_label": "a", "regex": "(unclosed"}, 'invalid regular expression "(unclosed"'),
        ({"target_label": "a", "regex": "a(?=b)"}, "invalid or unsupported Perl syntax: `(?=`"),
        ({"target_label": "a", "regex": "(a)\\1"}, "invalid escape sequence: `\\1`"),
        ({"target_label": "a", "regex": "(?<=a)b"}, "invalid or unsupported Perl syntax: `(?<`"),
        ({"target_label": "a", "regex": "a{1001}"}, "error parsing regexp: invalid repeat count: `{1001}`"),
        ({"target_label": "a", "regex": "(unclosed"}, "error parsing regexp: missing closing ): `^(?:(unclosed)$`"),
        ({"target_label": "a", "source_labels": ["not-a-label"]}, '"not-a-label" is not a valid label name'),
        ({"target_label": "a", "bogus": 1}, "Extra inputs are not permitted"),
    ],
)
def test_invalid_configs_are_rejected_with_prometheus_wording(kw: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as ei:
        RelabelConfig.model_validate(kw)
    assert message in str(ei.value)


def test_regex_round_trips_as_its_source_text() -> None:
    c = rc(source_labels=["a"], regex="f.*", action="keep")
    assert c.model_dump()["regex"] == "f.*"
    assert RelabelConfig.model_validate(c.model_dump()) == c


def test_relabel_regexes_run_in_linear_time() -> None:
    """(a+)+c? is exponential for a backtracking engine on a's ending in '!'; RE2 is not."""
    value = "a" * 5000 + "!"
    assert relabel(L(a=value), [rc(source_labels=["a"], regex="(a+)+c?", action="drop")]) == L(a=value)
    assert relabel(L(a=value), [rc(source_labels=["a"], regex="(a+)+c?", action="keep")]) is None
    kept = relabel(L(a=value), [rc(source_labels=["a"], regex="(a+)+(!)", target_label="b", replacement="$2")])
    assert kept == L(a=value, b="!")
    assert relabel(L(**{"a" * 40 + "x": "1"}), [rc(regex="(a|aa)*", action="labeldrop")]) == L(**{"a" * 40 + "x": "1"})


@pytest.mark.parametrize(
    ("regex", "value", "replacement", "want"),
    [
        ("(.)", "é", "<$1>", "<é>"),  # one code point, not one byte
        ("(.*)", "a\nb", "x", None),  # "." stops at a newline without (?s), as in Go
        ("(?s)(.*)", "a\nb", "$1", "a\nb"),
        (r"(\d+)", "٣", "$1", None),  # Go's \d is ASCII
        (r"(?P<n>\pL+)-(\d+)", "héllo-7", "${n}_$2", "héllo_7"),
        ("(?i)(K)", "\u212a", "$1", "\u212a"),  # Kelvin sign folds to k, as in Go
    ],
)
def test_relabel_regexes_follow_go(regex: str, value: str, replacement: str, want: str | None) -> None:
    out = relabel(L(a=value), [rc(source_labels=["a"], regex=regex, target_label="b", replacement=replacement)])
    assert out is not None
    assert out.get("b") == (want or "")
