"""Typed views of a ``QueryResult`` for tests (each asserts the result type first)."""

from __future__ import annotations

from typing import cast

from sloguard.promql import QueryResult, Sample, Scalar, Series, ValueType


def vector_of(r: QueryResult) -> list[Sample]:
    assert r.result_type is ValueType.VECTOR and isinstance(r.value, list)
    return cast(list[Sample], r.value)


def matrix_of(r: QueryResult) -> list[Series]:
    assert r.result_type is ValueType.MATRIX and isinstance(r.value, list)
    return cast(list[Series], r.value)


def scalar_of(r: QueryResult) -> float:
    assert isinstance(r.value, Scalar)
    return r.value.v
