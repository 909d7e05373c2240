"""The provider interface, the environment providers share, and the registry by type."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar, Protocol

import httpx

from sloguard.delivery.analysis._errors import AnalysisError
from sloguard.delivery.analysis._metric import ProviderConfig


class QueryFunc(Protocol):
    """The engine as a provider sees it: a query at ``t_ms`` to the values Argo hands a
    condition (a float for a scalar, a list of floats for a vector or matrix). With ``span``
    ``(start_ms, step_ms)`` it is a range query from ``start_ms`` to ``t_ms`` (a rangeQuery),
    whose values are those of every series, in order."""

    def __call__(self, expr: str, t_ms: int, span: tuple[int, int] | None = None) -> float | list[float]: ...

#: The same engine with labels kept: an instant query to ``[(labels, value), ...]`` (judge
#: metrics read histogram buckets by their ``le`` label).
SeriesQueryFunc = Callable[[str, int], "list[tuple[dict[str, str], float]]"]


class ProviderError(AnalysisError):
    """A provider that could not measure; ``retryable`` says whether trying again may help."""

    def __init__(self, message: str, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class MetricProvider(Protocol):
    """Measures one metric: ``query`` the raw result at ``now_ms``, or raise."""

    TYPE: ClassVar[str]

    async def query(self, now_ms: int) -> object: ...


@dataclass(frozen=True, slots=True)
class ProviderEnv:
    """What providers share: the embedded engine (``query``; None where there is none) and
    an HTTP client (None: each remote provider makes its own per request); ``series``, the
    engine with labels, for judge metrics (``sloguard.delivery.analysis.judged``);
    ``backends``, the server's named query backends by name (None: the server has none)."""

    query: QueryFunc | None = None
    http: httpx.AsyncClient | None = None
    series: SeriesQueryFunc | None = None
    backends: Mapping[str, QueryFunc] | None = None


ProviderFactory = Callable[[ProviderConfig, ProviderEnv], MetricProvider]

#: Provider constructors by ``TYPE``; filled by ``sloguard.delivery.analysis.providers``.
PROVIDERS: dict[str, ProviderFactory] = {}


def new_provider(config: ProviderConfig, env: ProviderEnv) -> MetricProvider:
    """The provider for ``config``; ``ProviderError`` for a type nobody registered."""
    factory = PROVIDERS.get(config.TYPE)
    if factory is None:
        known = ", ".join(sorted(PROVIDERS))
        raise ProviderError(f"There is no metric provider of type {config.TYPE!r} (known: {known}).", False)
    return factory(config, env)
