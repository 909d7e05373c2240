"""Per-SLO query backends: the config's ``query_backends`` by name, each as a PromQL
engine over the server's store merged with that backend (``sloguard.remote._fanout``),
and the rules' query function over it.

An SLO that names one (native spec ``query_backend:``, or ``slo_query_backends``) has its
two rule groups evaluated through that function, and its budget and history computed on
that engine; every other SLO and rule reads as the server does. In ruler mode a query
first waits for the write-back as the server's rule queries do (read-your-writes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sloguard.config import Config, QuerySettings
from sloguard.httpclient import with_directory

__all__ = ["SLOBackends", "slo_backends"]


@dataclass(frozen=True, slots=True)
class SLOBackends:
    """Backend name -> PromQL engine and the rules' query function over it."""

    engines: dict[str, Any] = field(default_factory=dict)
    queries: dict[str, Any] = field(default_factory=dict)

    def engine_for(self, slo: Any, default: Any) -> Any:
        """The engine ``slo``'s budget and history are computed on."""
        return self.engines.get(slo.query_backend, default) if slo.query_backend else default

    def group_query(self, slos: Callable[[], list[Any]], slo_rules: Path) -> Callable[[str, str], Any]:
        """For the rule manager: the query function of a group of the generated SLO rule
        file whose SLO names a backend (``None``: the manager's own)."""
        target = str(slo_rules)

        def query(file: str, group: str) -> Any:
            if not self.queries or file != target:
                return None
            for slo in slos():
                if slo.query_backend and group in (f"sloguard-slo-{slo.name}", f"sloguard-slo-{slo.name}-budget"):
                    return self.queries.get(slo.query_backend)
            return None

        return query


class _Remote:
    """A backend as a store to read raw series from (``querier()`` only)."""

    def __init__(self, engine: Any, external_labels: Any) -> None:
        self.engine, self.external_labels = engine, external_labels

    def querier(self) -> Any:
        from sloguard.remote._querier import RemoteQuerier

        return RemoteQuerier(self.engine, self.external_labels)


class _Synced:
    """A rule query that first lets the ruler's write-back deliver what the query may read."""

    def __init__(self, query: Any, rule_query: Any) -> None:
        self.query, self.rule_query = query, rule_query

    def __call__(self, expr: str, t: int) -> Any:
        self.rule_query.sync_for(expr)
        return self.query(expr, t)


def slo_backends(config: Config, reads: Any, query: QuerySettings, config_file: Path | None) -> SLOBackends:
    """The engines of ``config.query_backends`` over the rules' storage of ``reads`` (an
    ``api._backend_setup.Reads``); file paths in them are relative to ``config_file``."""
    if not config.query_backends:
        return SLOBackends()
    from sloguard.api._engine_setup import make_engine
    from sloguard.remote import RemoteEngine
    from sloguard.remote._fanout import FanoutStorage
    from sloguard.rules import engine_query_func

    engines, queries = {}, {}
    for name, backend in config.query_backends.items():
        if config_file is not None:
            backend = replace(backend, http=with_directory(backend.http, str(config_file.parent)))
        engine = make_engine(FanoutStorage(reads.rule_storage, _Remote(RemoteEngine(backend), None)), query)
        engines[name] = engine
        rules = engine_query_func(engine)
        queries[name] = _Synced(rules, reads.rule_query) if reads.rule_query is not None else rules
    return SLOBackends(engines, queries)
