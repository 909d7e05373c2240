"""Regex matchers promql-parser's Rust regex refuses though Go reads them (``\\Q...\\E``,
``\\0``, ``(?)``, ``\\x{D800}``, repeated group names): the query is parsed once more with a
placeholder for each regex, and the matchers get their real values back from ``restore``.
Each real value has already passed Go's check (``regex_matcher_error``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

import promql_parser as pp

from sloguard.promql._parse_checks import unquote
from sloguard.promql._parse_lexer import LexError, lex

__all__ = ["parse_masked", "restore", "restoring"]

_VALUES: ContextVar[Mapping[str, str]] = ContextVar("regex_placeholders", default=MappingProxyType({}))


def parse_masked(expr: str) -> tuple[Any, dict[str, str]] | None:
    """promql-parser's tree of ``expr`` with placeholders for its regex matchers, and the
    placeholder -> value map; None if it fails all the same."""
    try:
        toks = lex(expr)
    except LexError:
        return None
    parts: list[str] = []
    values: dict[str, str] = {}
    last = 0
    for i in range(2, len(toks)):
        t, op, name = toks[i], toks[i - 1], toks[i - 2]
        if t.kind == "string" and op.text in ("=~", "!~") and name.kind == "ident":
            placeholder = f"__sloguard_regex_{len(values)}__"
            values[placeholder] = unquote(t.text)
            parts += [expr[last : t.pos], f'"{placeholder}"']
            last = t.pos + len(t.text)
    try:
        return pp.parse("".join(parts) + expr[last:]), values
    except ValueError:
        return None


@contextlib.contextmanager
def restoring(values: dict[str, str]) -> Iterator[None]:
    """Within: ``restore`` maps this parse's placeholders back to their regexes."""
    token = _VALUES.set(values)
    try:
        yield
    finally:
        _VALUES.reset(token)


def restore(value: str) -> str:
    """The regex a placeholder stands for (any other value as it is)."""
    return _VALUES.get().get(value, value)
