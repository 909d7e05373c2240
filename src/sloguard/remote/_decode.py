"""The Prometheus API's ``data`` turned into the values the embedded engine returns.

An instant vector becomes a ``Vector`` of ``Sample`` (milliseconds, floats), a range result
a ``Matrix`` sorted by label set with numpy arrays (as the embedded engine sorts it), a
scalar a ``Scalar``, a string a ``String``. Values are Prometheus' strings (``"NaN"``,
``"+Inf"``); native histograms, which the embedded engine does not produce, are left out
with a warning.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sloguard.labels import Labels
from sloguard.promql import ErrorType, QueryResult, Sample, Scalar, Series, String, ValueType
from sloguard.remote._errors import RemoteQueryError

_HISTOGRAMS = "the backend returned native histogram samples, which sloguard does not read; they are left out"


class Malformed(Exception):
    """A ``data`` that is not what the Prometheus API documents (caught and named by the caller)."""


def _ms(t: Any) -> int:
    return round(float(t) * 1000)


def _labels(item: Any) -> Labels:
    metric = item.get("metric", {}) if isinstance(item, dict) else None
    if not isinstance(metric, dict):
        raise Malformed(f"a result without a metric object: {str(item)[:120]}")
    return Labels.from_dict({str(k): str(v) for k, v in metric.items()})


def _vector(result: list[Any], warnings: list[str]) -> list[Sample]:
    out = []
    for item in result:
        if "value" not in item:
            if "histogram" in item and _HISTOGRAMS not in warnings:
                warnings.append(_HISTOGRAMS)
            continue
        t, v = item["value"]
        out.append(Sample(_labels(item), _ms(t), float(v)))
    return out


def _series(item: dict[str, Any], warnings: list[str]) -> Series | None:
    values = item.get("values") or []
    if item.get("histograms") and _HISTOGRAMS not in warnings:
        warnings.append(_HISTOGRAMS)
    if not values:
        return None
    ts = np.fromiter((_ms(t) for t, _ in values), np.int64, len(values))
    vs = np.fromiter((float(v) for _, v in values), np.float64, len(values))
    return Series(_labels(item), ts, vs)


def _matrix(result: list[Any], warnings: list[str]) -> list[Series]:
    out = [s for s in (_series(item, warnings) for item in result) if s is not None]
    out.sort(key=lambda s: s.labels)
    return out


def query_result(data: Any, warnings: list[str]) -> QueryResult:
    """``data`` of ``/api/v1/query`` or ``/api/v1/query_range``; raises :class:`Malformed`."""
    try:
        kind, result = ValueType(data["resultType"]), data["result"]
        match kind:
            case ValueType.VECTOR:
                return QueryResult(_vector(result, warnings), kind, warnings)
            case ValueType.MATRIX:
                return QueryResult(_matrix(result, warnings), kind, warnings)
            case ValueType.SCALAR:
                return QueryResult(Scalar(_ms(result[0]), float(result[1])), kind, warnings)
            case ValueType.STRING:
                return QueryResult(String(_ms(result[0]), str(result[1])), kind, warnings)
    except Malformed:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as e:
        raise Malformed(f"{type(e).__name__}: {e}") from None
    raise Malformed(f"unknown resultType {data!r}")


def string_list(data: Any) -> list[str]:
    if not isinstance(data, list):
        raise Malformed(f"expected a list of strings, got {type(data).__name__}")
    return [str(x) for x in data]


def label_sets(data: Any) -> list[Labels]:
    if not isinstance(data, list) or not all(isinstance(x, dict) for x in data):
        raise Malformed("expected a list of label objects")
    return sorted(Labels.from_dict({str(k): str(v) for k, v in x.items()}) for x in data)


def malformed(url: str, what: str, e: Malformed) -> RemoteQueryError:
    return RemoteQueryError(url, what, f"malformed answer data: {e}", ErrorType.INTERNAL)
