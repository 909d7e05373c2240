"""The ``prometheus`` provider: an instant query on a remote Prometheus-compatible API
(Prometheus, Thanos, Mimir, VictoriaMetrics) through ``GET /api/v1/query``, or a range
query through ``GET /api/v1/query_range`` when the metric has Argo's ``rangeQuery``.

Config as Argo's ``provider.prometheus``: ``address``, ``query``, ``timeout`` (seconds,
default 30), ``headers``, basic auth, and a bearer token; ``insecure`` skips TLS checks.
Results take the shapes of Argo's provider: a scalar is a float, a vector the list of its
values, a matrix the values of all its series.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx

from sloguard.delivery.analysis._metric import ProviderConfig
from sloguard.delivery.analysis._time_expr import RangeQuery
from sloguard.delivery.analysis.providers._base import ProviderEnv, ProviderError
from sloguard.delivery.analysis.providers._http import send
from sloguard.delivery.analysis.providers.promql import window
from sloguard.nesting import NestingError, json_loads


@dataclass(frozen=True, slots=True)
class PrometheusConfig:
    """A remote query: ``address`` is the server's base URL (``http://prom:9090``)."""

    TYPE: ClassVar[str] = "prometheus"
    address: str
    query: str
    timeout_s: float = 30.0
    headers: tuple[tuple[str, str], ...] = ()
    basic_auth: tuple[str, str] | None = None
    bearer_token: str | None = None
    insecure: bool = False
    range: RangeQuery | None = None


class PrometheusProvider:
    TYPE: ClassVar[str] = "prometheus"

    def __init__(self, config: PrometheusConfig, client: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self._client = client

    @classmethod
    def from_env(cls, config: ProviderConfig, env: ProviderEnv) -> PrometheusProvider:
        if not isinstance(config, PrometheusConfig):
            raise ProviderError(f"The prometheus provider was given a {type(config).__name__}.", False)
        return cls(config, env.http)

    async def query(self, now_ms: int) -> object:
        c = self.config
        if c.range is None:
            path, params = "/api/v1/query", {"query": c.query, "time": f"{now_ms / 1000:.3f}"}
        else:
            start, end, step = window(c.range, now_ms)
            path, params = "/api/v1/query_range", {"query": c.query, "start": f"{start / 1000:.3f}",
                                                   "end": f"{end / 1000:.3f}", "step": f"{step / 1000:g}"}
        request = httpx.Request("GET", c.address.rstrip("/") + path, params=params, headers=self._headers())
        response = await send(self._client, request, timeout_s=c.timeout_s, verify=not c.insecure)
        return _result(response, c.address)

    def _headers(self) -> dict[str, str]:
        c = self.config
        headers = {"Accept": "application/json"}
        headers.update(dict(c.headers))
        if c.basic_auth is not None:
            user, password = c.basic_auth
            headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        if c.bearer_token:
            headers["Authorization"] = f"Bearer {c.bearer_token}"
        return headers


def _result(response: httpx.Response, address: str) -> object:
    try:
        body = json_loads(response.content)
    except NestingError as e:
        raise ProviderError(f"Prometheus at {address} answered with a body that {e}.") from None
    except ValueError:
        raise ProviderError(
            f"Prometheus at {address} answered HTTP {response.status_code} with a body that is not JSON.",
        ) from None
    if not isinstance(body, dict) or body.get("status") != "success":
        detail = body.get("error", "no error given") if isinstance(body, dict) else "an unexpected body"
        kind = body.get("errorType", "") if isinstance(body, dict) else ""
        retry = kind not in ("bad_data",)
        raise ProviderError(f"Prometheus at {address} refused the query ({kind or response.status_code}): {detail}", retry)
    return _values(body.get("data") or {}, address)


def _values(data: dict[str, Any], address: str) -> object:
    kind, result = data.get("resultType"), data.get("result", [])
    try:
        if kind == "scalar":
            return float(result[1])  # [time, "value"]
        if kind == "vector":
            return [float(s["value"][1]) for s in result]
        if kind == "matrix":
            return [float(v[1]) for s in result for v in s["values"]]
    except (TypeError, KeyError, IndexError, ValueError) as e:
        raise ProviderError(f"Prometheus at {address} answered a {kind} that cannot be read: {e!r}.") from None
    raise ProviderError(f"Prometheus at {address} answered a result of type {kind!r}, which a metric cannot judge.", False)
