"""PromQL: AST mapping from promql-parser, vectorised evaluator, functions, test scripts."""

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

__all__ = [
    "Engine",
    "ErrorType",
    "Matrix",
    "ParseError",
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
