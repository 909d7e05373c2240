"""Metric providers, one module each (STYLE item 6): a ``TYPE``, a frozen config dataclass,
a constructor from that config (and the shared ``ProviderEnv``), and an entry in
``PROVIDERS``. A provider's ``query`` returns the raw result a condition sees (a number,
a list of numbers, or JSON) or raises; ``measure`` turns anything it raises into an Error
measurement, so a failing provider never stops the loop.
"""

from __future__ import annotations

from sloguard.delivery.analysis.providers._base import (
    PROVIDERS,
    MetricProvider,
    ProviderEnv,
    ProviderError,
    QueryFunc,
    SeriesQueryFunc,
    new_provider,
)
from sloguard.delivery.analysis.providers.prometheus import PrometheusConfig, PrometheusProvider
from sloguard.delivery.analysis.providers.promql import PromQLConfig, PromQLProvider, engine_query
from sloguard.delivery.analysis.providers.query_backend import (
    QueryBackendConfig,
    QueryBackendProvider,
)
from sloguard.delivery.analysis.providers.web import WebConfig, WebProvider

PROVIDERS.update({
    PromQLProvider.TYPE: PromQLProvider.from_env,
    PrometheusProvider.TYPE: PrometheusProvider.from_env,
    QueryBackendProvider.TYPE: QueryBackendProvider.from_env,
    WebProvider.TYPE: WebProvider.from_env,
})

__all__ = [
    "PROVIDERS", "MetricProvider", "PromQLConfig", "PromQLProvider", "PrometheusConfig",
    "PrometheusProvider", "ProviderEnv", "ProviderError", "QueryBackendConfig", "QueryBackendProvider", "QueryFunc", "SeriesQueryFunc", "WebConfig", "WebProvider",
    "engine_query", "new_provider",
]
