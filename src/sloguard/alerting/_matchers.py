"""Alertmanager's matcher syntax (``matchers:``, silences, ``amtool``): ``{a="b", c=~"d.*"}``.

The grammar is Alertmanager 0.25's ``pkg/labels`` parser: braces are optional, matchers are
split at commas outside quotes, a value may be quoted (``\\"``, ``\\\\`` and ``\\n`` are escapes)
or bare, and a label name is ``[a-zA-Z_:][a-zA-Z0-9_:]*``. Matchers sort by name, value, then
type, and print as ``{name="value",...}`` (the text in a route's key).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from sloguard.labels import GoRegexError, Labels, Matcher, MatchType, compile_anchored, escape_value

LabelSet = Mapping[str, str] | Labels
"""An alert's labels: a plain mapping or a ``Labels``."""

_MATCHER = re.compile(r"^\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(=~|=|!=|!~)\s*(.*?)\s*$", re.DOTALL)
_TYPES = {"=": MatchType.EQUAL, "!=": MatchType.NOT_EQUAL, "=~": MatchType.REGEX, "!~": MatchType.NOT_REGEX}
_TYPE_ORDER = {MatchType.EQUAL: 0, MatchType.NOT_EQUAL: 1, MatchType.REGEX: 2, MatchType.NOT_REGEX: 3}
_ESCAPES = {"n": "\n", '"': '"', "\\": "\\"}


class MatcherParseError(ValueError):
    """Matcher text Alertmanager refuses; the message is Alertmanager's wording."""


def parse_matchers(text: str) -> list[Matcher]:
    """``'{a="b", c!~"x|y"}'`` (or without braces) -> matchers, in the order written."""
    inner = text.removeprefix("{").removesuffix("}")
    return [parse_matcher(token) for token in _split(inner)]


def _split(text: str) -> list[str]:
    tokens: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for ch in text:
        if ch == "," and not quoted:
            tokens.append("".join(current))
            current = []
            continue
        if ch == '"':
            quoted, escaped = (not quoted, False) if not escaped else (quoted, False)
        elif ch == "\\":
            escaped = not escaped
        else:
            escaped = False
        current.append(ch)
    last = "".join(current).strip()
    return tokens + [last] if last else tokens


def parse_matcher(text: str) -> Matcher:
    """One matcher such as ``env=~"prod.*"`` or ``severity=page``."""
    m = _MATCHER.match(text)
    if m is None:
        raise MatcherParseError(f"bad matcher format: {text}")
    name, op, raw = m.groups()
    value = _unquote(raw)
    return new_matcher(_TYPES[op], name, value)


def new_matcher(mtype: MatchType, name: str, value: str) -> Matcher:
    """A matcher; a bad regex is refused with Go's words (``error parsing regexp: ...``)."""
    if mtype in (MatchType.REGEX, MatchType.NOT_REGEX):
        try:
            compile_anchored(value)
        except GoRegexError as e:
            raise MatcherParseError(str(e)) from None
    return Matcher(mtype, name, value)


def _unquote(raw: str) -> str:
    quoted = raw.startswith('"')
    body = raw[1:] if quoted else raw
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i < len(body) - 1:
            nxt = body[i + 1]
            out.append(_ESCAPES.get(nxt, "\\" + nxt))
            i += 2
            continue
        if ch == '"':
            if not quoted or i < len(body) - 1:
                raise MatcherParseError(f"matcher value contains unescaped double quote: {raw}")
            quoted = False
        else:
            out.append(ch)
        i += 1
    if quoted:
        raise MatcherParseError(f"matcher value contains unescaped double quote: {raw}")
    return "".join(out)


def sort_matchers(matchers: Iterable[Matcher]) -> tuple[Matcher, ...]:
    """Alertmanager's order: by name, then value, then type (``=`` ``!=`` ``=~`` ``!~``)."""
    return tuple(sorted(matchers, key=lambda m: (m.name, m.value, _TYPE_ORDER[m.type])))


def format_matcher(m: Matcher) -> str:
    return f'{m.name}{m.type.value}"{escape_value(m.value)}"'


def format_matchers(matchers: Sequence[Matcher]) -> str:
    """``{a="b",c=~"d"}``: Alertmanager's ``Matchers.String()``."""
    return "{" + ",".join(format_matcher(m) for m in matchers) + "}"


def label_value(labels: LabelSet, name: str) -> str:
    """A label's value; an absent label reads as ``""``, as everywhere in Alertmanager."""
    return labels.get(name, "")


def matches_all(matchers: Iterable[Matcher], labels: LabelSet) -> bool:
    """Alertmanager's ``Matchers.Matches``: every matcher holds (an absent label reads as ``""``)."""
    get = labels.get
    for m in matchers:  # noqa: SIM110 - a loop, not all() over a generator: runs for every alert of every flush
        if not m.matches(get(m.name, "")):
            return False
    return True
