"""String tests that answer common anchored regexes without a regex engine.

Prometheus' ``FastRegexMatcher`` (2.42: prefix, suffix, contains) does the same. Shapes
handled, for the anchored ``^(?:<re>)$``, optionally wrapped in one ``(...)``/``(?:...)``:
alternatives of literal text joined by ``.*``/``.+`` gaps, such as ``a|b|c``, ``api-.*``,
``.*-prod``, ``.*foo.*``, ``.+``, ``GET|api-.*``. A literal is made of characters that are
not regex syntax (``\\.``-style escapes of ASCII punctuation included), U+FFFD excepted (Go
reads a value's invalid bytes as U+FFFD; those values are left to RE2). Without ``(?s)``,
``.`` is any character but a newline, so a value with a newline is matched by no gap.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sloguard.labels._goregexp_syntax import class_end as _class_end

__all__ = ["fast_matcher", "literal_alternatives", "required_literal"]

Predicate = Callable[[str], bool]
_META = set("\\.+*?()|[]{}^$\n")
_REPEAT = re.compile(r"\{(\d+)(?:,(\d*))?\}")


def literal_alternatives(pattern: str) -> list[str] | None:
    """For ``a|b|c`` (literal text only), the alternatives; else None."""
    branches = _branches(pattern)
    if branches is None or any(len(b) != 1 for b in branches):
        return None
    return [b[0][0] for b in branches]


def fast_matcher(pattern: str) -> Predicate | None:
    """A plain-Python test equal to matching ``^(?:<pattern>)$``, or None for other shapes."""
    branches = _branches(pattern)
    if branches is None:
        return None
    if all(len(b) == 1 for b in branches):
        values = frozenset(b[0][0] for b in branches)
        return values.__contains__
    tests = [_branch_test(b) for b in branches]
    if len(tests) == 1:
        return tests[0]
    return lambda v: any(t(v) for t in tests)


Branch = list[tuple[str, int]]  # (literal, minimum gap before it); the first gap is 0


def _branches(pattern: str) -> list[Branch] | None:
    if "\ufffd" in pattern:
        return None  # Go reads each invalid byte of a value as U+FFFD: leave it to RE2
    body = _unwrap(pattern)
    branches: list[Branch] = []
    for alt in body.split("|"):
        parsed = _branch(alt)
        if parsed is None:
            return None
        branches.append(parsed)
    return branches


def _unwrap(p: str) -> str:
    """``p`` without one group around all of it (groups are not otherwise allowed here)."""
    for start in ("(?:", "("):
        inner = p[len(start) : -1]
        if p.startswith(start) and p.endswith(")") and not set("()") & set(inner):
            return inner
    return p


def _branch(alt: str) -> Branch | None:
    """Literal runs and the ``.*``/``.+`` gaps between them; gaps may start or end it."""
    out: Branch = []
    lit: list[str] = []
    gap = 0
    i = 0
    while i < len(alt):
        c = alt[i]
        if c == "." and alt[i + 1 : i + 2] in ("*", "+"):
            out.append(("".join(lit), gap))
            lit, gap = [], 1 if alt[i + 1] == "+" else 0
            i += 2
        elif c == "\\" and i + 1 < len(alt) and _escapable(alt[i + 1]):
            lit.append(alt[i + 1])
            i += 2
        elif c in _META:
            return None
        else:
            lit.append(c)
            i += 1
    out.append(("".join(lit), gap))
    return out


def _escapable(c: str) -> bool:
    """Go reads ``\\c`` as the character itself for ASCII punctuation."""
    return c.isascii() and not c.isalnum() and c not in "\n"


def _branch_test(branch: Branch) -> Predicate:
    if len(branch) == 1:
        return branch[0][0].__eq__
    first, middle, (last, last_gap) = branch[0][0], branch[1:-1], branch[-1]
    if not middle and last_gap == 0:  # prefix.*suffix: the usual shapes, one test each
        if not last:
            return lambda v: v.startswith(first) and "\n" not in v
        if not first:
            return lambda v: v.endswith(last) and "\n" not in v
    if len(middle) == 1 and not first and not last and last_gap == 0 and middle[0][1] == 0:
        needle = middle[0][0]
        return lambda v: needle in v and "\n" not in v

    def test(v: str) -> bool:
        if "\n" in v or not v.startswith(first):
            return False
        pos = len(first)
        for lit, gap in middle:
            pos = v.find(lit, pos + gap)
            if pos < 0:
                return False
            pos += len(lit)
        end = len(v) - len(last)
        return end >= pos + last_gap and v.endswith(last)

    return test


def required_literal(pattern: str) -> str | None:
    """Text every value matching ``^(?:<pattern>)$`` contains (a cheap pre-check before
    the regex), or None. Only for patterns without ``|``, flags or ``\\Q`` at the top
    level: the longest literal run outside groups and classes that no quantifier can drop."""
    runs: list[str] = []
    run: list[str] = []
    i = 0
    while i < len(pattern):
        atom, i = _atom(pattern, i)
        if atom is None:
            return None
        quant, i = _quantifier(pattern, i)
        if quant is None:
            return None
        if atom and quant in ("", "+"):
            run.append(atom)
        if not atom or quant:
            runs.append("".join(run))
            run = [atom] if atom and quant == "+" else []
    runs.append("".join(run))
    best = max(runs, key=len)
    return best if best and "\ufffd" not in best else None


def _atom(p: str, i: int) -> tuple[str | None, int]:
    """(literal character, or "" for any other atom, or None to give up; next index)."""
    c = p[i]
    if c == "\\":
        nxt = p[i + 1 : i + 2]
        if nxt and _escapable(nxt):
            return nxt, i + 2
        if nxt in ("Q", "p", "P", "x") or not nxt:
            return None, i
        return "", i + 2
    if c == "[":
        return "", _class_end(p, i)
    if c == "(":
        return ("", _group_end(p, i)) if not p.startswith("(?", i) or p.startswith("(?:", i) else (None, i)
    if c in "|)*+?{":
        return None, i
    return ("" if c in ".^$" else c), i + 1


def _quantifier(p: str, i: int) -> tuple[str | None, int]:
    """("" for none, "+" for one-or-more, "*" for any that may drop the atom; next index)."""
    c = p[i : i + 1]
    if c in ("*", "?"):
        q = "*"
    elif c == "+":
        q = "+"
    elif c == "{":
        m = _REPEAT.match(p, i)
        if m is None:
            return None, i  # Go reads a bad repeat as text: leave it to the regex
        q = "*" if int(m[1]) == 0 else "+"
        return q, m.end() + (p[m.end() : m.end() + 1] == "?")
    else:
        return "", i
    i += 1
    return q, i + (p[i : i + 1] == "?")


def _group_end(p: str, i: int) -> int:
    depth = 0
    while i < len(p):
        c = p[i]
        if c == "\\":
            i += 2
            continue
        if c == "[":
            i = _class_end(p, i)
            continue
        depth += (c == "(") - (c == ")")
        i += 1
        if depth == 0:
            return i
    return len(p)
