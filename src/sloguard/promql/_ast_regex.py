"""RE2 regex spellings Python's ``re`` reads differently, for label matchers."""

from __future__ import annotations

import re

_INLINE_FLAGS = re.compile(r"\(\?([imsU]*(?:-[imsU]+)?)\)")


def re2_inline_flags(pattern: str) -> str:
    """RE2 lets ``(?i)`` appear anywhere, acting to the end of the enclosing group;
    Python only takes flags at the start. Rewrite later ones as scoped ``(?i:...)``
    groups, closed at the group's end and around each ``|`` of that group."""
    if "(?" not in pattern:
        return pattern
    out: list[str] = []
    levels: list[list[str]] = [[]]  # open scoped-flag groups per nesting level
    i, in_class = 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class or c == "[":
            in_class = c != "]" or not in_class
            out.append(c)
            i += 1
            continue
        m = _INLINE_FLAGS.match(pattern, i)
        if m and i > 0 and m[1]:
            out.append(f"(?{m[1]}:")
            levels[-1].append(m[1])
            i = m.end()
            continue
        if c == "(":
            levels.append([])
        elif c == ")" and len(levels) > 1:
            out.append(")" * len(levels.pop()))
        elif c == "|":
            flags = levels[-1]
            out.append(")" * len(flags) + "|" + "".join(f"(?{f}:" for f in flags))
            i += 1
            continue
        out.append(c)
        i += 1
    out.append(")" * len(levels[0]))
    return "".join(out)
