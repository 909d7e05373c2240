"""Relabeling with Prometheus' ``relabel_config`` semantics (model/relabel in Prometheus 2.42).

Regexes are fully anchored RE2-style patterns; replacements use Go's ``$1``, ``${1}``,
``$name``, ``${name}`` and ``$$`` expansion. Configs apply in order, each to the result of
the previous one; ``relabel`` returns ``None`` when a keep/drop step drops the set.
"""

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, model_validator

from sloguard.gofmt import go_quote
from sloguard.labels import (
    GoMatch,
    GoRegex,
    GoRegexError,
    Labels,
    LabelsBuilder,
    compile_anchored,
    is_valid_label_name,
)

__all__ = ["Action", "RelabelConfig", "Regex", "expand", "relabel"]

_RELABEL_TARGET = re.compile(r"(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+")
_TEMPLATE_VAR = re.compile(r"\$(?:(\$)|\{(\w+)\}|(\w+))")


class Action(enum.StrEnum):
    """Relabel actions; YAML values are matched case-insensitively, as in Prometheus."""

    REPLACE = "replace"
    KEEP = "keep"
    DROP = "drop"
    KEEPEQUAL = "keepequal"
    DROPEQUAL = "dropequal"
    HASHMOD = "hashmod"
    LABELMAP = "labelmap"
    LABELDROP = "labeldrop"
    LABELKEEP = "labelkeep"
    LOWERCASE = "lowercase"
    UPPERCASE = "uppercase"


def _compile(pattern: str) -> GoRegex:
    try:  # Go's RE2 syntax, linear time, anchored as ^(?:<pattern>)$ like Prometheus
        return compile_anchored(pattern)
    except GoRegexError as e:
        raise ValueError(f"invalid regular expression {go_quote(pattern)}: {e}") from None


class Regex:
    """A fully anchored regex; keeps the source text for round-tripping."""

    __slots__ = ("pattern", "compiled")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.compiled = _compile(pattern)

    def fullmatch(self, s: str) -> GoMatch | None:
        """The groups of a match of all of ``s``, or None."""
        return self.compiled.submatch(s)

    def matches(self, s: str) -> bool:
        return self.compiled.matches(s)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Regex) and other.pattern == self.pattern

    def __hash__(self) -> int:
        return hash(self.pattern)

    def __repr__(self) -> str:
        return f"Regex({self.pattern!r})"


def _to_regex(v: Any) -> Regex:
    if isinstance(v, Regex):
        return v
    if v is None:
        return Regex("")
    if not isinstance(v, str):
        raise ValueError(f"regex must be a string, got {type(v).__name__}")
    return Regex(v)


def _to_action(v: Any) -> Action:
    if isinstance(v, Action):
        return v
    if not isinstance(v, str) or not v:
        raise ValueError("relabel action cannot be empty")
    try:
        return Action(v.lower())
    except ValueError:
        raise ValueError(f"unknown relabel action {go_quote(v)}") from None


def _label_names(v: Any) -> Any:
    if isinstance(v, list):
        for n in v:
            if not isinstance(n, str) or not is_valid_label_name(n):
                raise ValueError(f"{go_quote(n)} is not a valid label name")
    return v


RegexField = Annotated[
    Regex, BeforeValidator(_to_regex), PlainSerializer(lambda r: r.pattern, return_type=str)
]
ActionField = Annotated[Action, BeforeValidator(_to_action)]
_DEFAULT_REGEX = "(.*)"


class RelabelConfig(BaseModel):
    """One ``relabel_config`` entry, with Prometheus' field names, defaults and checks."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    source_labels: Annotated[list[str], BeforeValidator(_label_names)] = Field(default_factory=list)
    separator: str = ";"
    regex: RegexField = Field(default_factory=lambda: Regex(_DEFAULT_REGEX))
    modulus: int = Field(default=0, ge=0)
    target_label: str = ""
    replacement: str = "$1"
    action: ActionField = Action.REPLACE

    @model_validator(mode="after")
    def _check(self) -> RelabelConfig:
        _validate(self)
        return self


def _non_defaults(c: RelabelConfig) -> set[str]:
    """Fields whose value differs from Prometheus' default relabel config."""
    diff = {
        "source_labels": bool(c.source_labels),
        "separator": c.separator != ";",
        "regex": c.regex.pattern != _DEFAULT_REGEX,
        "modulus": c.modulus != 0,
        "target_label": c.target_label != "",
        "replacement": c.replacement != "$1",
    }
    return {k for k, v in diff.items() if v}


def _validate(c: RelabelConfig) -> None:
    given = _non_defaults(c)
    a = c.action
    if a is Action.HASHMOD and c.modulus == 0:
        raise ValueError("relabel configuration for hashmod requires non-zero modulus")
    needs_target = {Action.REPLACE, Action.HASHMOD, Action.LOWERCASE, Action.UPPERCASE,
                    Action.KEEPEQUAL, Action.DROPEQUAL}
    if a in needs_target and not c.target_label:
        raise ValueError(f"relabel configuration for {a} action requires 'target_label' value")
    templ = {Action.REPLACE, Action.LOWERCASE, Action.UPPERCASE}
    if a in templ and not _RELABEL_TARGET.fullmatch(c.target_label):
        raise ValueError(f"{go_quote(c.target_label)} is invalid 'target_label' for {a} action")
    if a in (Action.LOWERCASE, Action.UPPERCASE) and c.replacement != "$1":
        raise ValueError(f"'replacement' can not be set for {a} action")
    if a is Action.LABELMAP and not _RELABEL_TARGET.fullmatch(c.replacement):
        raise ValueError(f"{go_quote(c.replacement)} is invalid 'replacement' for {a} action")
    if a is Action.HASHMOD and not is_valid_label_name(c.target_label):
        raise ValueError(f"{go_quote(c.target_label)} is invalid 'target_label' for {a} action")
    if a in (Action.KEEPEQUAL, Action.DROPEQUAL) and given & {"regex", "modulus", "separator", "replacement"}:
        raise ValueError(f"{a} action requires only 'source_labels' and 'target_label', and no other fields")
    if a in (Action.LABELDROP, Action.LABELKEEP) and given & {
        "source_labels", "target_label", "modulus", "separator", "replacement"
    }:
        raise ValueError(f"{a} action requires only 'regex', and no other fields")


def expand(template: str, m: GoMatch) -> str:
    """Go's ``Regexp.ExpandString``: ``$1``/``${1}``/``$name``/``${name}``, ``$$`` is ``$``.

    A missing or unmatched group expands to the empty string; ``$`` not followed by a
    name is kept literally.
    """
    if "$" not in template:
        return template

    def sub(v: re.Match[str]) -> str:
        if v.group(1):
            return "$"
        name = v.group(2) or v.group(3)
        try:
            return (m.group(int(name)) if name.isdigit() else m.group(name)) or ""
        except IndexError:  # no such group: Go expands it to nothing
            return ""

    return _TEMPLATE_VAR.sub(sub, template)


def _hashmod(val: str, modulus: int) -> str:
    digest = hashlib.md5(val.encode("utf-8")).digest()  # noqa: S324 - Prometheus' choice, not security
    return str(int.from_bytes(digest[8:], "big") % modulus)


def _apply(labels: Labels, c: RelabelConfig) -> Labels | None:
    val = c.separator.join(labels.get(n) for n in c.source_labels)
    a = c.action
    if a is Action.DROP:
        return None if c.regex.matches(val) else labels
    if a is Action.KEEP:
        return labels if c.regex.matches(val) else None
    if a is Action.DROPEQUAL:
        return None if labels.get(c.target_label) == val else labels
    if a is Action.KEEPEQUAL:
        return labels if labels.get(c.target_label) == val else None
    if a is Action.REPLACE:
        return _replace(labels, c, val)
    if a is Action.LOWERCASE:
        return labels.set(c.target_label, val.lower())
    if a is Action.UPPERCASE:
        return labels.set(c.target_label, val.upper())
    if a is Action.HASHMOD:
        return labels.set(c.target_label, _hashmod(val, c.modulus))
    return _label_action(labels, c)


def _replace(labels: Labels, c: RelabelConfig, val: str) -> Labels:
    m = c.regex.fullmatch(val)
    if m is None:
        return labels
    target = expand(c.target_label, m)
    if not is_valid_label_name(target):
        return labels
    return labels.set(target, expand(c.replacement, m))


def _label_action(labels: Labels, c: RelabelConfig) -> Labels:
    rx = c.regex
    if c.action is Action.LABELMAP:
        lb = LabelsBuilder(labels)
        for name, value in labels:
            m = rx.fullmatch(name)
            if m is not None:
                lb.set(expand(c.replacement, m), value)
        return lb.labels()
    keep = c.action is Action.LABELKEEP
    return Labels._sorted_unchecked(
        tuple(p for p in labels if rx.matches(p[0]) == keep)
    )


def relabel(labels: Labels, configs: Sequence[RelabelConfig]) -> Labels | None:
    """Apply ``configs`` in order; ``None`` means a keep/drop step dropped the label set."""
    for c in configs:
        out = _apply(labels, c)
        if out is None:
            return None
        labels = out
    return labels
