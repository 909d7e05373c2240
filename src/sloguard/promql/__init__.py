"""PromQL: AST mapping from promql-parser, vectorised evaluator, functions, test scripts."""

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
