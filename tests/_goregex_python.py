"""A test oracle: Go RE2 syntax spelt for Python's ``re``. sloguard runs every user regex on
RE2 (linear time: ``sloguard.labels._goregexp``); the tests compare it with this
translation on patterns where backtracking is harmless.

* Inline flags ``(?i)`` anywhere: RE2 applies them to the rest of the enclosing group;
  Python only allows them at the very start, so they become scoped groups ``(?i:...)``
  that are closed (and reopened) around ``|`` and at the group's end.
* ``\\z`` (end of text) is Python's ``\\Z``; ``\\Q...\\E`` quotes literally.
* Named groups ``(?<name>...)`` are Python's ``(?P<name>...)``.
* POSIX classes ``[[:alpha:]]`` are expanded.
* The ungreedy flag ``U`` has no Python equivalent and is dropped.
* Unicode classes ``\\pL``, ``\\pN``, ``\\p{Lu}``... map to Python's nearest spellings
  (letters ``[^\\W\\d_]``, digits ``\\d``; upper/lower case only for ASCII).
* Perl syntax RE2 lacks (lookarounds, backreferences) raises ``re.error`` with Go's wording,
  where Python would quietly accept it.
"""

from __future__ import annotations

import re

__all__ = ["compile_go_regex", "go_regex_to_python"]

_POSIX = {
    "alnum": "0-9A-Za-z", "alpha": "A-Za-z", "ascii": "\\x00-\\x7F", "blank": "\\t ",
    "cntrl": "\\x00-\\x1F\\x7F", "digit": "0-9", "graph": "!-~", "lower": "a-z",
    "print": " -~", "punct": "!-/:-@\\[-`{-~", "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z", "word": "0-9A-Za-z_", "xdigit": "0-9A-Fa-f",
}
_FLAGS = re.compile(r"\(\?([imsU]*(?:-[imsU]*)?)\)")
_UNI_OUT = {"L": r"[^\W\d_]", "N": r"\d", "Nd": r"\d", "Lu": "[A-Z]", "Ll": "[a-z]"}
_UNI_OUT_NEG = {"L": r"[\W\d_]", "N": r"\D", "Nd": r"\D", "Lu": "[^A-Z]", "Ll": "[^a-z]"}
_UNI_IN = {"L": "a-zA-Z\u00c0-\u024f", "N": r"\d", "Nd": r"\d", "Lu": "A-Z", "Ll": "a-z"}
_UNI = re.compile(r"\\([pP])(?:\{\^?([A-Za-z]+)\}|([A-Za-z]))")
_LOOKAROUND = re.compile(r"\(\?<?[=!]")


def _unicode_class(m: re.Match[str], inside: bool) -> str:
    name = m[2] or m[3]
    negate = (m[1] == "P") != ("{^" in m[0])
    table = _UNI_IN if inside else (_UNI_OUT_NEG if negate else _UNI_OUT)
    if name not in table or (inside and negate):
        return m[0]  # left as is: Python reports it as a bad escape
    return table[name]


def _class_end(p: str, i: int) -> int:
    """Index just past the character class that starts at ``p[i] == '['``."""
    j = i + 1
    if p[j : j + 1] == "^":
        j += 1
    if p[j : j + 1] == "]":
        j += 1
    while j < len(p) and p[j] != "]":
        if p[j] == "\\":
            j += 2
        elif p.startswith("[:", j):
            close = p.find(":]", j + 2)
            j = close + 2 if close >= 0 else j + 1
        else:
            j += 1
    return j + 1


def _translate_class(cls: str) -> str:
    cls = re.sub(r"\[:([a-z]+):\]", lambda m: _POSIX.get(m[1], m[0]), cls)
    return _UNI.sub(lambda m: _unicode_class(m, inside=True), cls)


def compile_go_regex(pattern: str) -> re.Pattern[str]:
    """Compile an RE2 pattern with Python's ``re`` (unanchored; callers anchor or fullmatch)."""
    return re.compile(go_regex_to_python(pattern))


def go_regex_to_python(p: str) -> str:
    """The Python spelling of RE2 pattern ``p``; ``re.error`` for Perl syntax RE2 refuses."""
    out: list[str] = []
    stack: list[list[str]] = [[]]  # open scoped-flag groups per group level
    i = 0
    while i < len(p):
        c = p[i]
        if c == "\\":
            nxt = p[i + 1 : i + 2]
            if nxt == "Q":
                end = p.find("\\E", i + 2)
                stop = len(p) if end < 0 else end
                out.append(re.escape(p[i + 2 : stop]))
                i = len(p) if end < 0 else end + 2
                continue
            uni = _UNI.match(p, i)
            if uni is not None:
                out.append(_unicode_class(uni, inside=False))
                i = uni.end()
                continue
            if nxt in "123456789" and nxt:
                raise re.error(f"invalid escape sequence: `\\{nxt}`")
            out.append("\\Z" if nxt == "z" else p[i : i + 2])
            i += 2
        elif c == "[":
            j = _class_end(p, i)
            out.append(_translate_class(p[i:j]))
            i = j
        elif c == "(" and (m := _FLAGS.match(p, i)) is not None:
            flags = m[1].replace("U", "")
            if flags.strip("-"):
                out.append(f"(?{flags.rstrip('-')}:")
                stack[-1].append(flags.rstrip("-"))
            i = m.end()
        elif c == "(" and (look := _LOOKAROUND.match(p, i)) is not None:
            raise re.error(f"invalid or unsupported Perl syntax: `{look[0]}`")
        elif c == "(":
            named = p.startswith("(?<", i)
            out.append("(?P<" if named else "(")
            stack.append([])
            i += 3 if named else 1
        elif c == ")":
            out.append(")" * len(stack.pop() if len(stack) > 1 else []))
            out.append(")")
            i += 1
        elif c == "|" and stack[-1]:
            out.append(")" * len(stack[-1]) + "|" + "".join(f"(?{f}:" for f in stack[-1]))
            i += 1
        else:
            out.append(c)
            i += 1
    out.append(")" * len(stack[-1]))
    return "".join(out)
