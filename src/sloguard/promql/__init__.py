"""PromQL: AST mapping from promql-parser, vectorised evaluator, functions, test scripts.

The names below load on first use (PEP 562): a module that only needs the value types or
the parser (spec checks, ``sloguard slo validate``) does not load the evaluator and the TSDB.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# ``_ast`` re-exports the parser from ``_ast_parse``, which imports ``_ast``: loaded here first,
# whichever of the two a caller asks for (the value types and the parser, not the evaluator).
from sloguard.promql import _ast  # noqa: F401

if TYPE_CHECKING:
    from sloguard.promql._selector_text import parse_matchers_text
    from sloguard.promql._value import (
        Engine,
        ErrorType,
        Matrix,
        ParseError,
        PromQLError,
        QueryResult,
        Sample,
        Scalar,
        Series,
        String,
        Value,
        ValueType,
        Vector,
    )
    from sloguard.promql.engine import EngineOptions, PromQLEngine

_VALUES = ("Engine", "ErrorType", "Matrix", "ParseError", "PromQLError", "QueryResult", "Sample", "Scalar",
           "Series", "String", "Value", "ValueType", "Vector")
#: Public name -> the module defining it.
_HOME: dict[str, str] = {
    "parse_matchers_text": "sloguard.promql._selector_text",
    **dict.fromkeys(_VALUES, "sloguard.promql._value"),
    "EngineOptions": "sloguard.promql.engine",
    "PromQLEngine": "sloguard.promql.engine",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


__all__ = [
    "parse_matchers_text",
    "Engine",
    "EngineOptions",
    "ErrorType",
    "Matrix",
    "ParseError",
    "PromQLEngine",
    "PromQLError",
    "QueryResult",
    "Sample",
    "Scalar",
    "Series",
    "String",
    "Value",
    "ValueType",
    "Vector",
]
