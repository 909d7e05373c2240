"""Go template comparison builtins (``eq ne lt le gt ge``) with Go's kind rules and errors."""

from __future__ import annotations

from typing import Any

from sloguard.rules.template._gofmt import go_sprint, go_sprintf, go_type
from sloguard.rules.template._humanize import FuncError


def _kind(v: Any) -> str | None:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "string"
    return None


def go_eq(a: Any, *bs: Any) -> bool:
    """Go's ``eq``: basic kinds must match (``incompatible types``); others compare by value."""
    if not bs:
        raise FuncError("missing argument for comparison")
    ka = _kind(a)
    for b in bs:
        kb = _kind(b)
        if ka != kb:
            if a is not None and b is not None:
                raise FuncError("incompatible types for comparison")
            continue
        if ka is None:
            if go_type(a) != go_type(b) and a is not None and b is not None:
                raise FuncError(f"non-comparable types {go_sprintf('%s', [a])}: {go_type(a)}, "
                                f"{go_type(b)}: {go_sprint(b)}")
            if isinstance(a, (dict, list)):
                raise FuncError(f"non-comparable type {go_sprintf('%s', [b])}: {go_type(b)}")
            if a is b or a == b:
                return True
            continue
        if a == b:
            return True
    return False


def go_ne(a: Any, b: Any) -> bool:
    return not go_eq(a, b)


def go_lt(a: Any, b: Any) -> bool:
    """Go's ``lt``: invalid kinds first, then a kind mismatch, then bools are refused."""
    ka, kb = _kind(a), _kind(b)
    if ka is None or kb is None:
        raise FuncError("invalid type for comparison")
    if ka != kb:
        raise FuncError("incompatible types for comparison")
    if ka == "bool":
        raise FuncError("invalid type for comparison")
    return bool(a < b)


def go_le(a: Any, b: Any) -> bool:
    return go_lt(a, b) or go_eq(a, b)


def go_gt(a: Any, b: Any) -> bool:
    return not go_le(a, b)


def go_ge(a: Any, b: Any) -> bool:
    return not go_lt(a, b)
