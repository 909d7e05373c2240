"""The ``query_backend`` provider: an instant query on one of the server's named query
backends (``query_backends:`` in the server config), through ``sloguard.remote``'s engine
(its authentication, TLS, timeouts, retries and errors).

An AnalysisTemplate chooses it with sloguard's extension key in Argo's prometheus block,
instead of an ``address``::

    provider:
      prometheus:
        sloguardQueryBackend: payments-vm
        query: sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))

Results take the shapes of the ``prometheus`` provider (a float for a scalar, a list of
floats for a vector or matrix).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from sloguard.delivery.analysis._metric import ProviderConfig
from sloguard.delivery.analysis._time_expr import RangeQuery
from sloguard.delivery.analysis.providers._base import ProviderEnv, ProviderError, QueryFunc
from sloguard.delivery.analysis.providers.promql import run_query


@dataclass(frozen=True, slots=True)
class QueryBackendConfig:
    """``query`` on the backend named ``backend``; ``path`` is where the template named it."""

    TYPE: ClassVar[str] = "query_backend"
    backend: str
    query: str
    path: str = "provider.prometheus.sloguardQueryBackend"
    range: RangeQuery | None = None


class QueryBackendProvider:
    TYPE: ClassVar[str] = "query_backend"

    def __init__(self, config: QueryBackendConfig, query: QueryFunc) -> None:
        self.config = config
        self._query = query

    @classmethod
    def from_env(cls, config: ProviderConfig, env: ProviderEnv) -> QueryBackendProvider:
        if not isinstance(config, QueryBackendConfig):
            raise ProviderError(f"The query_backend provider was given a {type(config).__name__}.", False)
        query = (env.backends or {}).get(config.backend)
        if query is None:
            known = ", ".join(sorted(env.backends or {})) or "none"
            raise ProviderError(f"{config.path}: unknown query backend {config.backend!r} "
                                f"(query_backends defines: {known}).", False)
        return cls(config, query)

    async def query(self, now_ms: int) -> object:
        """The result at ``now_ms`` (over the rangeQuery's window, if any); the backend's
        blocking client runs in a worker thread."""
        return await run_query(self._query, self.config.query, self.config.range, now_ms)
