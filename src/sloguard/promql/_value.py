"""Query results as the API and the rules see them (the evaluator works on arrays inside).

In a ``Vector`` all samples have the same timestamp. In a ``Matrix`` each ``Series`` has
strictly increasing timestamps (milliseconds) and no two series share a label set.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from sloguard.labels import Labels


class ErrorType(enum.Enum):
    """Prometheus API ``errorType`` values."""

    BAD_DATA = "bad_data"
    EXECUTION = "execution"
    TIMEOUT = "timeout"
    CANCELED = "canceled"
    INTERNAL = "internal"
    UNAVAILABLE = "unavailable"
    NOT_FOUND = "not_found"


class PromQLError(Exception):
    """A query that could not be answered; ``error_type`` maps to the HTTP error shape."""

    def __init__(self, message: str, error_type: ErrorType = ErrorType.EXECUTION) -> None:
        super().__init__(message)
        self.error_type = error_type


class ParseError(PromQLError):
    """The expression does not parse (``bad_data``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ErrorType.BAD_DATA)


@dataclass(frozen=True, slots=True)
class Sample:
    labels: Labels
    t: int
    v: float


@dataclass(frozen=True, slots=True)
class Series:
    labels: Labels
    timestamps: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Scalar:
    t: int
    v: float


@dataclass(frozen=True, slots=True)
class String:
    t: int
    v: str


Vector = list[Sample]
Matrix = list[Series]
Value = Vector | Matrix | Scalar | String


class ValueType(enum.Enum):
    VECTOR = "vector"
    MATRIX = "matrix"
    SCALAR = "scalar"
    STRING = "string"


@dataclass(slots=True)
class QueryResult:
    """``value`` is a Vector for instant vector queries, a Matrix for range queries and
    range-vector instant queries, a Scalar or a String otherwise."""

    value: Value
    result_type: ValueType
    warnings: list[str] = field(default_factory=list)


class Engine(Protocol):
    """What the API, rules and SLO code need from the PromQL engine. Times in ms."""

    def instant_query(self, expr: str, t: int, timeout: float | None = None) -> QueryResult: ...

    def range_query(
        self, expr: str, start: int, end: int, step: int, timeout: float | None = None
    ) -> QueryResult: ...
