"""Prometheus' series-value notation and the small lexical pieces of its test language.

``load`` lines of ``.test`` scripts and promtool's ``input_series`` both describe series
as ``metric{label="value"} <values>`` where each value item is one of:

* ``v`` one sample (``Inf``, ``-Inf``, ``NaN``, ``stale`` allowed);
* ``a+bxn`` / ``a-bxn``: ``n+1`` samples ``a, a+b, ...``, accumulated step by step;
* ``axn``: ``n+1`` copies of ``a``;
* ``_`` one missing sample, ``_xn`` ``n`` missing samples.

As in Prometheus' lexer, hexadecimal numbers are not allowed inside series values (the
``x`` is the repetition sign there: ``0x10`` is eleven zeros), while a bare expected number
on an ``eval`` line is read like Go's ``ParseInt(s, 0, 64)`` then ``ParseFloat``.
"""

from __future__ import annotations

import math
import re

from sloguard import durations
from sloguard.labels import METRIC_NAME, Labels
from sloguard.tsdb import STALE_NAN


class NotationError(ValueError):
    """A series description, number or duration that does not follow the notation."""


# -- numbers ---------------------------------------------------------------------------

_GO_INT = re.compile(
    r"^[+-]?(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|0(?:_?[0-7])*|[1-9](?:_?[0-9])*)$"
)
_GO_FLOAT = re.compile(
    r"^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf|infinity|nan)$", re.IGNORECASE
)
_GO_HEX_FLOAT = re.compile(r"^[+-]?0[xX][0-9a-fA-F]*\.?[0-9a-fA-F]*[pP][+-]?\d+$")


def _go_int(text: str) -> int:
    s = text.replace("_", "")
    sign = -1 if s.startswith("-") else 1
    body = s.lstrip("+-")
    if len(body) > 1 and body[0] == "0" and body[1] not in "xXoObB":
        body = "0o" + body[1:]
    return sign * int(body, 0)


def parse_number(text: str) -> float:
    """A number as Prometheus' test harness reads it (Go ``ParseInt(s, 0, 64)``, then
    ``ParseFloat``): ``12``, ``0x3d``, ``010`` (octal), ``1e3``, ``+Inf``, ``NaN``."""
    s = text.strip()
    if _GO_INT.match(s):
        n = _go_int(s)
        if -(2**63) <= n < 2**63:
            return float(n)
    if _GO_FLOAT.match(s):
        f = float(s)
        if math.isinf(f) and "inf" not in s.lower():
            raise NotationError(f"The number {text!r} is out of the range of a float64.")
        return f
    if _GO_HEX_FLOAT.match(s):
        return float.fromhex(s)
    raise NotationError(f"{text!r} is not a number.")


# -- durations -------------------------------------------------------------------------

def parse_duration_ms(text: str) -> int:
    """A Prometheus duration (``5m``, ``1h30m``, ``0``) in milliseconds."""
    try:
        return durations.parse_duration_ms(text.strip())
    except durations.DurationError:
        raise NotationError(f"{text!r} is not a valid duration (like 5m, 1h30m or 10s).") from None


# -- series values ---------------------------------------------------------------------

_NUM = r"(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[iI][nN][fF]|[nN][aA][nN])"
_ITEM = re.compile(
    rf"^(?P<a>[+-]?{_NUM}|stale)(?:(?P<op>[+-])(?P<b>{_NUM}))?(?:x(?P<n>\d+))?$"
)
_BLANK = re.compile(r"^_(?:x(?P<n>\d+))?$")


def _series_number(text: str) -> float:
    if text == "stale":
        return STALE_NAN
    return parse_number(text)


def _expand_item(item: str) -> list[float | None]:
    blank = _BLANK.match(item)
    if blank:
        return [None] * (int(blank["n"]) if blank["n"] else 1)
    m = _ITEM.match(item)
    if m is None:
        raise NotationError(
            f"Series value {item!r} is not one of v, a+bxn, a-bxn, axn, _, _xn or stale."
        )
    a = _series_number(m["a"])
    if m["n"] is None:
        if m["op"] is not None:
            raise NotationError(f"Series value {item!r} has an increment but no 'x<count>'.")
        return [a]
    n = int(m["n"])
    if m["op"] is None:
        return [a] * (n + 1)
    b = parse_number(m["b"]) * (-1.0 if m["op"] == "-" else 1.0)
    out: list[float | None] = []
    for _ in range(n + 1):  # accumulate like Prometheus (a += b), not a + i*b
        out.append(a)
        a += b
    return out


def expand_series_values(text: str) -> list[float | None]:
    """Expand a value sequence like ``"0+10x3 _ stale 5x2"``; ``None`` marks a missing
    sample and ``STALE_NAN`` a staleness marker. ``"1+1x3"`` gives four values."""
    out: list[float | None] = []
    for item in text.split():
        out.extend(_expand_item(item))
    return out


# -- series descriptions ---------------------------------------------------------------

_IDENT = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
            "\\": "\\", "'": "'", '"': '"'}


def _read_quoted(s: str, i: int) -> tuple[str, int]:
    """Read a Go string literal starting at ``s[i]``; return (value, index after it)."""
    q = s[i]
    if q == "`":
        end = s.find("`", i + 1)
        if end < 0:
            raise NotationError(f"Unterminated raw string in {s!r}.")
        return s[i + 1 : end], end + 1
    out: list[str] = []
    j = i + 1
    while j < len(s):
        c = s[j]
        if c == q:
            return "".join(out), j + 1
        if c != "\\":
            out.append(c)
            j += 1
            continue
        e = s[j + 1 : j + 2]
        if e in _ESCAPES:
            out.append(_ESCAPES[e])
            j += 2
        elif e in ("x", "u", "U"):
            width = {"x": 2, "u": 4, "U": 8}[e]
            out.append(chr(int(s[j + 2 : j + 2 + width], 16)))
            j += 2 + width
        elif e.isdigit():
            out.append(chr(int(s[j + 1 : j + 4], 8)))
            j += 4
        else:
            raise NotationError(f"Unknown escape sequence '\\{e}' in {s!r}.")
    raise NotationError(f"Unterminated string in {s!r}.")


def _read_label_set(s: str, i: int, pairs: list[tuple[str, str]]) -> int:
    """Read ``{a="b", ...}`` starting at the brace; return the index after ``}``."""
    i += 1
    while True:
        i = _skip_space(s, i)
        if s[i : i + 1] == "}":
            return i + 1
        m = _LABEL_NAME.match(s, i)
        if m is None:
            raise NotationError(f"Expected a label name at column {i + 1} of {s!r}.")
        i = _skip_space(s, m.end())
        if s[i : i + 1] != "=":
            raise NotationError(f"Expected '=' after label {m[0]!r} in {s!r}.")
        i = _skip_space(s, i + 1)
        if s[i : i + 1] not in ('"', "'", "`"):
            raise NotationError(f"Expected a quoted value for label {m[0]!r} in {s!r}.")
        value, i = _read_quoted(s, i)
        pairs.append((m[0], value))
        i = _skip_space(s, i)
        if s[i : i + 1] == ",":
            i += 1
        elif s[i : i + 1] != "}":
            raise NotationError(f"Expected ',' or '}}' at column {i + 1} of {s!r}.")


def _skip_space(s: str, i: int) -> int:
    while i < len(s) and s[i] in " \t":
        i += 1
    return i


def parse_series_desc(text: str) -> tuple[Labels, list[float | None]]:
    """Split ``metric{labels} values...`` into its label set and expanded values."""
    s = text.strip()
    pairs: list[tuple[str, str]] = []
    i = 0
    m = _IDENT.match(s)
    if m is not None:
        pairs.append((METRIC_NAME, m[0]))
        i = m.end()
    if s[i : i + 1] == "{":
        i = _read_label_set(s, i, pairs)
    elif m is None:
        raise NotationError(f"Series description {text!r} does not start with a metric name or '{{'.")
    if i < len(s) and s[i] not in " \t":
        raise NotationError(f"Expected a space after the series in {text!r}.")
    names = [n for n, _ in pairs]
    if len(set(names)) != len(names):
        raise NotationError(f"Series description {text!r} repeats a label name.")
    return Labels(pairs), expand_series_values(s[i:])
