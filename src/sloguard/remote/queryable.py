"""The promql ``Engine`` over a Prometheus-compatible HTTP API (Prometheus, VictoriaMetrics,
Thanos Query, Mimir), and the API's series, label names and label values.

:class:`RemoteEngine` returns ``QueryResult`` shaped exactly as the embedded engine shapes
it, so rules, SLO budgets, the API and the UI read a backend the same way they read the
embedded store. Its calls block (the engine protocol is sync and called from worker
threads); each is one ``POST`` with the retries of :mod:`sloguard.remote._transport`.
A backend's ``warnings`` (partial data) are kept in ``QueryResult.warnings``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

from sloguard.labels import Labels
from sloguard.promql import ErrorType, QueryResult, ValueType
from sloguard.remote._backend import QueryBackend
from sloguard.remote._decode import Malformed, label_sets, malformed, query_result, string_list
from sloguard.remote._errors import RemoteQueryError
from sloguard.remote._transport import Answer, BackendClient

__all__ = ["RemoteEngine"]

_T = TypeVar("_T")


def _seconds(ms: int) -> str:
    return f"{ms / 1000:.3f}"


def _go_ms(seconds: float) -> str:
    """A duration both Prometheus (``model.ParseDuration``: no fractions) and MetricsQL read."""
    return f"{max(1, round(seconds * 1000))}ms"


def _window(params: list[tuple[str, str]], start_ms: int | None, end_ms: int | None) -> list[tuple[str, str]]:
    if start_ms is not None:
        params.append(("start", _seconds(start_ms)))
    if end_ms is not None:
        params.append(("end", _seconds(end_ms)))
    return params


class RemoteEngine:
    """``Engine`` (instant and range queries) plus ``series``/``label_names``/``label_values``
    over one :class:`QueryBackend`. ``transport``, ``sleep`` and ``now`` are for tests."""

    def __init__(self, backend: QueryBackend, *, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep, now: Callable[[], float] = time.monotonic) -> None:
        self.backend = backend
        self.client = BackendClient(backend, transport=transport, sleep=sleep, now=now)

    def close(self) -> None:
        self.client.close()

    def instant_query(self, expr: str, t: int, timeout: float | None = None, querier: Any = None,
                      cancel: threading.Event | None = None) -> QueryResult:
        """``/api/v1/query`` at ``t`` (ms). ``querier`` is accepted for the rules' call and unused;
        ``cancel`` (the API's, set when its client went away) stops the retries."""
        what = f"instant query {expr!r} at {_seconds(t)}"
        params = [("query", expr), ("time", _seconds(t))]
        if timeout is not None:
            params.append(("timeout", _go_ms(timeout)))
        return self._result(self.client.read("/api/v1/query", params, what, timeout, cancel=cancel), what)

    def range_query(self, expr: str, start: int, end: int, step: int, timeout: float | None = None,
                    cancel: threading.Event | None = None) -> QueryResult:
        """``/api/v1/query_range`` from ``start`` to ``end`` every ``step`` (all ms)."""
        what = f"range query {expr!r} from {_seconds(start)} to {_seconds(end)} step {step / 1000:g}s"
        params = [("query", expr), ("start", _seconds(start)), ("end", _seconds(end)), ("step", f"{step / 1000:g}")]
        if timeout is not None:
            params.append(("timeout", _go_ms(timeout)))
        res = self._result(self.client.read("/api/v1/query_range", params, what, timeout, cancel=cancel), what)
        if res.result_type is not ValueType.MATRIX:
            raise RemoteQueryError(self.backend.url, what, f"a range query answered {res.result_type.value}, "
                                                           "not a matrix", ErrorType.INTERNAL)
        return res

    def series(self, matchers: Sequence[str], start: int | None = None, end: int | None = None) -> list[Labels]:
        """``/api/v1/series`` for the ``match[]`` selectors, sorted."""
        what = f"series {list(matchers)!r}"
        answer = self.client.read("/api/v1/series", _window([("match[]", m) for m in matchers], start, end), what)
        return self._decode(answer, what, label_sets)

    def label_names(self, matchers: Sequence[str] = (), start: int | None = None,
                    end: int | None = None) -> list[str]:
        what = "label names" + (f" of {list(matchers)!r}" if matchers else "")
        answer = self.client.read("/api/v1/labels", _window([("match[]", m) for m in matchers], start, end), what)
        return self._decode(answer, what, string_list)

    def label_values(self, name: str, matchers: Sequence[str] = (), start: int | None = None,
                     end: int | None = None) -> list[str]:
        """``/api/v1/label/<name>/values`` (a GET: the API has no POST form of it)."""
        what = f"values of label {name!r}" + (f" of {list(matchers)!r}" if matchers else "")
        params = _window([("match[]", m) for m in matchers], start, end)
        answer = self.client.read(f"/api/v1/label/{quote(name, safe='')}/values", params, what, method="GET")
        return self._decode(answer, what, string_list)

    def _result(self, answer: Answer, what: str) -> QueryResult:
        return self._decode(answer, what, lambda data: query_result(data, list(answer.warnings)))

    def _decode(self, answer: Answer, what: str, fn: Callable[[Any], _T]) -> _T:
        try:
            return fn(answer.data)
        except Malformed as e:
            raise malformed(self.backend.url, what, e) from None
