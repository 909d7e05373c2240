"""Query results as Prometheus' HTTP API writes them, byte for byte.

Prometheus 2.42 writes numbers in three different ways, and clients (Grafana, promtool,
the differential test) see the difference:

* vector and matrix points (``jsonutil.MarshalTimestamp``/``MarshalValue``): the
  timestamp is ``seconds`` plus a three-digit millisecond fraction when it is not zero
  (``1700000000.500``); the value is Go's shortest ``'f'`` formatting, switching to
  ``'e'`` (``1e-07``, ``1e+21``) below 1e-6 and from 1e21 on;
* scalar results: the timestamp is a JSON float (``1700000000.5``) and the value always
  ``'f'`` (a 1e300 scalar prints all 301 digits);
* string results: a JSON float timestamp and the string.

``NaN``, ``+Inf`` and ``-Inf`` are spelled so everywhere. Strings are escaped as Go's
``encoding/json`` does (``<``, ``>``, ``&``, U+2028 and U+2029 as ``\\uXXXX``).
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from sloguard.labels import Labels
from sloguard.promql._value import (
    Matrix,
    QueryResult,
    Scalar,
    Series,
    String,
    ValueType,
    Vector,
)

_DOT_ZERO = re.compile(r"\.0(?=, |$)")
_SPECIAL = {"nan": "NaN", "inf": "+Inf", "-inf": "-Inf"}
_GO_ESCAPES: dict[int, str] = {c: f"\\u{c:04x}" for c in range(0x20)}
_GO_ESCAPES.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"})
_GO_ESCAPES.update({ord('"'): '\\"', ord("\\"): "\\\\"})
_GO_ESCAPES.update({ord(c): f"\\u{ord(c):04x}" for c in "<>&\u2028\u2029"})


def _positional(v: float) -> str:
    """Go's ``strconv.FormatFloat(v, 'f', -1, 64)`` for a finite ``v``."""
    r = repr(v)
    if "e" in r:
        return np.format_float_positional(v, unique=True, trim="-")
    return r[:-2] if r.endswith(".0") else r


def format_scalar_value(v: float) -> str:
    """A scalar result's value: always ``'f'`` (Prometheus' ``Scalar.MarshalJSON``)."""
    if not math.isfinite(v):
        return _SPECIAL[repr(v)]
    return _positional(v)


def format_value(v: float) -> str:
    """A vector or matrix point's value (``jsonutil.MarshalValue``)."""
    if not math.isfinite(v):
        return _SPECIAL[repr(v)]
    a = abs(v)
    if a != 0 and (a < 1e-6 or a >= 1e21):
        return repr(v)  # Python's shortest 'e' form matches Go's here: 1e-07, 1.5e+21
    return _positional(v)


def format_values(values: npt.NDArray[np.float64]) -> list[str]:
    """``format_value`` for a whole array; the common cases never leave C loops."""
    if values.size == 0:
        return []
    out = _DOT_ZERO.sub("", str(values.tolist())[1:-1]).split(", ")
    a = np.abs(values)
    odd = ~np.isfinite(values) | (a >= 1e16) | ((a < 1e-4) & (a != 0))
    for i in np.flatnonzero(odd).tolist():
        out[i] = format_value(float(values[i]))
    return out


def format_point_time(t: int) -> str:
    """A point's timestamp (``jsonutil.MarshalTimestamp``): ``-1.500``, ``0``, ``12.345``."""
    sign = "-" if t < 0 else ""
    t = abs(t)
    whole, frac = divmod(t, 1000)
    return f"{sign}{whole}.{frac:03d}" if frac else f"{sign}{whole}"


def format_json_seconds(t: int) -> str:
    """A timestamp written as a Go JSON float of seconds (scalar and string results)."""
    return _positional(t / 1000.0)


def go_json_string(s: str) -> str:
    """``s`` as Go's ``encoding/json`` quotes it (HTML-safe escaping)."""
    return '"' + s.translate(_GO_ESCAPES) + '"'


class ResultWriter:
    """Writes results as JSON text; caches label sets and timestamps across series."""

    def __init__(self) -> None:
        self._times: dict[int, str] = {}
        self._last_prefixes: tuple[npt.NDArray[np.int64], list[str]] | None = None

    def labels(self, labels: Labels) -> str:
        inner = ",".join(f"{go_json_string(n)}:{go_json_string(v)}" for n, v in labels)
        return "{" + inner + "}"

    def _time(self, t: int) -> str:
        s = self._times.get(t)
        if s is None:
            s = self._times[t] = format_point_time(t)
        return s

    def _prefixes(self, timestamps: npt.NDArray[np.int64]) -> list[str]:
        """``[<time>,"`` per point; shared by consecutive series on the same steps."""
        last = self._last_prefixes
        if last is not None and np.array_equal(last[0], timestamps):
            return last[1]
        pre = ['[' + self._time(t) + ',"' for t in timestamps.tolist()]
        self._last_prefixes = (timestamps, pre)
        return pre

    def points(self, timestamps: npt.NDArray[np.int64], values: npt.NDArray[np.float64]) -> str:
        if timestamps.size == 0:
            return "[]"
        vs = format_values(np.asarray(values, np.float64))
        return '[' + '"],'.join(map(operator.add, self._prefixes(timestamps), vs)) + '"]]'

    def vector(self, vec: Vector) -> str:
        items = [
            f'{{"metric":{self.labels(s.labels)},"value":[{self._time(s.t)},"{format_value(s.v)}"]}}'
            for s in vec
        ]
        return "[" + ",".join(items) + "]"

    def matrix(self, mat: Matrix) -> str:
        items = [
            f'{{"metric":{self.labels(s.labels)},"values":{self.points(s.timestamps, s.values)}}}'
            for s in mat
        ]
        return "[" + ",".join(items) + "]"

    def scalar(self, s: Scalar) -> str:
        return f'[{format_json_seconds(s.t)},"{format_scalar_value(s.v)}"]'

    def string(self, s: String) -> str:
        return f"[{format_json_seconds(s.t)},{go_json_string(s.v)}]"

    def result(self, res: QueryResult) -> str:
        """The ``result`` member for ``res``."""
        v = res.value
        if isinstance(v, Scalar):
            return self.scalar(v)
        if isinstance(v, String):
            return self.string(v)
        if res.result_type is ValueType.MATRIX:
            return self.matrix(v)  # type: ignore[arg-type]
        return self.vector(v)  # type: ignore[arg-type]


def query_data_json(res: QueryResult) -> str:
    """The ``data`` object: ``{"resultType":"vector","result":[...]}``."""
    body = ResultWriter().result(res)
    return f'{{"resultType":"{res.result_type.value}","result":{body}}}'


def success_json(data_json: str, warnings: Sequence[str] = ()) -> str:
    """The success envelope around already-encoded ``data``; ``warnings`` when present."""
    w = ""
    if warnings:
        w = ',"warnings":[' + ",".join(go_json_string(x) for x in warnings) + "]"
    return f'{{"status":"success","data":{data_json}{w}}}'


def query_response_json(res: QueryResult) -> str:
    """A whole ``/api/v1/query`` or ``/api/v1/query_range`` success body."""
    return success_json(query_data_json(res), res.warnings)


def series_of(labels: Labels, ts: Sequence[int], vs: Sequence[float]) -> Series:
    """A ``Series`` from plain sequences (tests and the CLI)."""
    return Series(labels, np.asarray(ts, np.int64), np.asarray(vs, np.float64))
