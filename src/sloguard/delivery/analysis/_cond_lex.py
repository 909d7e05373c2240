"""Tokens of the condition language (the part of expr-lang that Argo Rollouts users write).

Columns are 1-based character offsets into the condition as written. Every literal is
bounded here, before the parser sees it: a number of at most ``MAX_NUMBER_CHARS`` characters
that fits an int64 (or a finite float64), a string of at most ``MAX_STRING_CHARS``.
"""

from __future__ import annotations

import enum
import math
import re
from dataclasses import dataclass

from sloguard.delivery.analysis._cond_errors import ConditionError

MAX_NUMBER_CHARS = 40
MAX_STRING_CHARS = 1000
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class Kind(enum.Enum):
    NUMBER = "number"
    STRING = "string"
    NAME = "name"
    OP = "operator"
    END = "end of the condition"


@dataclass(frozen=True, slots=True)
class Token:
    """One token: ``value`` is the parsed literal for numbers and strings, else the text."""

    kind: Kind
    text: str
    value: object
    col: int


#: Longest first, so ``**`` wins over ``*`` and ``?.`` over ``?``.
_OPS = (
    "?.", "??", "**", "==", "!=", "<=", ">=", "&&", "||",
    "+", "-", "*", "/", "%", "^", "<", ">", "!", "(", ")", "[", "]", "{", "}", ",", ".", "?", ":", "#",
)
_NUMBER = re.compile(r"0[xX][0-9a-fA-F_]+|(?:\d[\d_]*)(?:\.\d[\d_]*)?(?:[eE][+-]?\d+)?", re.ASCII)
_DIGITS = "0123456789"
_FRACTION = re.compile(r"\.[0-9]+")
_NAME = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "0": "\0", "`": "`"}


def tokenize(text: str) -> list[Token]:
    """All tokens of ``text``, ending with an END token."""
    out: list[Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        tok, i = _one(text, i)
        out.append(tok)
    out.append(Token(Kind.END, "", None, len(text) + 1))
    return out


def _one(text: str, i: int) -> tuple[Token, int]:
    ch = text[i]
    if ch in _DIGITS:
        return _number(text, i)
    frac = _FRACTION.match(text, i)
    if frac:
        raise ConditionError(text, i + 1, f"a number starts with a digit: write 0{frac.group()}, not {frac.group()}")
    if ch in "\"'`":
        return _string(text, i)
    m = _NAME.match(text, i)
    if m:
        return Token(Kind.NAME, m.group(), m.group(), i + 1), m.end()
    for op in _OPS:
        if text.startswith(op, i):
            return Token(Kind.OP, op, op, i + 1), i + len(op)
    raise ConditionError(text, i + 1, f"unexpected character {ch!r}")


def _number(text: str, i: int) -> tuple[Token, int]:
    m = _NUMBER.match(text, i)
    raw = m.group() if m else text[i]  # a digit always matches
    if len(raw) > MAX_NUMBER_CHARS:
        raise ConditionError(text, i + 1, f"the number literal is longer than {MAX_NUMBER_CHARS} characters")
    clean = raw.replace("_", "")
    value: int | float
    if raw[:2].lower() == "0x":
        value = int(clean, 16)
    elif any(c in clean for c in ".eE"):
        value = float(clean)
        if not math.isfinite(value):
            raise ConditionError(text, i + 1, f"the number {raw} is too large for a float64")
    else:
        value = int(clean)
    if isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
        raise ConditionError(text, i + 1, f"the integer {raw} does not fit an int64")
    return Token(Kind.NUMBER, raw, value, i + 1), i + len(raw)


def _string(text: str, i: int) -> tuple[Token, int]:
    quote = text[i]
    j = i + 1
    chars: list[str] = []
    while j < len(text) and text[j] != quote:
        if len(chars) >= MAX_STRING_CHARS:
            raise ConditionError(text, i + 1, f"the string literal is longer than {MAX_STRING_CHARS} characters")
        if text[j] == "\\" and quote != "`":
            ch, j = _escape(text, j)
            chars.append(ch)
            continue
        chars.append(text[j])
        j += 1
    if j >= len(text):
        raise ConditionError(text, i + 1, "the string literal is not closed")
    return Token(Kind.STRING, text[i : j + 1], "".join(chars), i + 1), j + 1


def _escape(text: str, j: int) -> tuple[str, int]:
    nxt = text[j + 1] if j + 1 < len(text) else ""
    if nxt in _ESCAPES:
        return _ESCAPES[nxt], j + 2
    if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[j + 2 : j + 6]):
        return chr(int(text[j + 2 : j + 6], 16)), j + 6
    raise ConditionError(text, j + 1, f"unknown escape sequence \\{nxt}")
