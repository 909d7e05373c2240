"""Where Go 1.19's regexp syntax (Prometheus 2.42) and C++ RE2's part: the constructs only Go
refuses, and Go's wording for the errors both report.

Each error is ``(message, position)``: the message as Go words it after ``error parsing
regexp: ``, and where in the pattern it was found, so that of two errors the first wins,
as in Go's one-pass parser.
"""

from __future__ import annotations

import re

__all__ = ["class_end", "go_only_error", "to_go_error"]

# C++ RE2's error text -> Go's (regexp/syntax ErrorCode strings).
_GO_CODES = {
    "unexpected error": "regexp/syntax: internal error",
    "invalid escape sequence": "invalid escape sequence",
    "invalid character class": "invalid character class",
    "invalid character class range": "invalid character class range",
    "missing ]": "missing closing ]",
    "missing )": "missing closing )",
    "unexpected )": "unexpected )",
    "trailing \\": "trailing backslash at end of expression",
    "no argument for repetition operator": "missing argument to repetition operator",
    "invalid repetition size": "invalid repeat count",
    "bad repetition operator": "invalid nested repetition operator",
    "invalid perl operator": "invalid or unsupported Perl syntax",
    "invalid UTF-8": "invalid UTF-8",
    "invalid named capture group": "invalid named capture",
}
_MAX_HEIGHT = 1000  # Go's maxHeight: parse trees deeper than this are refused
_NAMED = re.compile(r"\(\?<[^>=!]+>")  # (?<name>...): Go 1.22's spelling, read as (?P<name>
_ANCHOR = len("^(?:")  # errors are searched for after Prometheus' anchoring prefix
_COUNT = re.compile(r"\{(\d+)(,(\d*))?\}\??$")  # the last of stacked repetition operators


def to_go_error(re2_error: str, text: str) -> tuple[str, int]:
    """Go's message for C++ RE2's ``re2_error`` on ``text``, and its position."""
    if re2_error.startswith("pattern too large"):
        return f"expression too large: `{text}`", len(text)
    code, sep, arg = re2_error.partition(": ")
    go = _GO_CODES.get(code, code)
    if code == "missing )" or not sep:
        return f"{go}: `{text}`", len(text)
    if code == "unexpected )":  # RE2 quotes the whole text; Go stops at that ")"
        return f"{go}: `{arg}`", _scan(text)[1]
    if code == "invalid repetition size":  # Go leaves out a non-greedy "?"
        arg = arg.removesuffix("?") if arg.endswith("}?") else arg
    if code == "bad repetition operator" and (count := _bad_count(arg)) is not None:
        return f"invalid repeat count: `{count}`", text.find(arg, _ANCHOR)  # Go checks counts first
    found = text.find(arg, _ANCHOR if text.startswith("^(?:") else 0)
    return f"{go}: `{arg}`", len(text) if found < 0 else found


def _bad_count(ops: str) -> str | None:
    """The ``{n,m}`` ending ``ops`` (stacked repetition operators) if Go refuses its counts."""
    m = _COUNT.search(ops)
    if m is None:
        return None
    low, high = int(m[1]), int(m[1]) if m[2] is None else int(m[3]) if m[3] else -1
    return m[0].rstrip("?") if low > 1000 or high > 1000 or 0 <= high < low else None


def go_only_error(text: str) -> tuple[str, int] | None:
    """The first construct C++ RE2 reads but Go 1.19 refuses: ``\\C``, lookbehind ``(?<``
    (worded as Go 1.19 does), capture names Go refuses, deep nesting. Named groups spelt
    ``(?<name>...)`` are read, as Go 1.22+ and current Prometheus do (2.42 refused them)."""
    return _scan(text)[0]


def _scan(text: str) -> tuple[tuple[str, int] | None, int]:
    """The first Go-only error, and where the first unbalanced ``)`` is (else the end)."""
    captures: list[bool] = []  # per open group: is it capturing (Go's tree grows by one)
    depth = i = 0
    while i < len(text):
        c = text[i]
        if text.startswith("\\Q", i):
            end = text.find("\\E", i + 2)
            i = len(text) if end < 0 else end + 2
            continue
        if text.startswith("\\C", i):
            return ("invalid escape sequence: `\\C`", i), i
        if text.startswith("(?<", i) and not _NAMED.match(text, i):
            return ("invalid or unsupported Perl syntax: `(?<`", i), i  # lookbehind
        if text.startswith(("(?P<", "(?<"), i) and (bad := _bad_capture_name(text, i)) is not None:
            return (bad, i), i
        if c == "(":
            captures.append(not text.startswith("(?", i))
            depth += captures[-1]
            if depth + 2 > _MAX_HEIGHT:
                return (f"expression nests too deeply: `{text}`", i), i
        elif c == ")" and not captures:
            return None, i
        elif c == ")":
            depth -= captures.pop()
        i = i + 2 if c == "\\" else class_end(text, i) if c == "[" else i + 1
    return None, len(text)


def _bad_capture_name(text: str, i: int) -> str | None:
    """Go allows only ASCII letters, digits and ``_`` in ``(?P<name>``; C++ RE2 allows more."""
    end = text.find(">", i)
    name = text[text.find("<", i) + 1 : end]
    if end < 0 or not name or all(c.isascii() and (c.isalnum() or c == "_") for c in name):
        return None  # well formed, or C++ RE2 reports it as Go does
    return f"invalid named capture: `{text[i : end + 1]}`"


def class_end(p: str, i: int) -> int:
    """Index just past the character class that starts at ``p[i] == '['``."""
    j = i + 1
    if p[j : j + 1] == "^":
        j += 1
    if p[j : j + 1] == "]":
        j += 1
    while j < len(p) and p[j] != "]":
        if p.startswith("\\C", j):
            return j  # reported by the caller's scan
        if p[j] == "\\":
            j += 2
        elif p.startswith("[:", j) and (close := p.find(":]", j + 2)) >= 0:
            j = close + 2
        else:
            j += 1
    return j + 1
