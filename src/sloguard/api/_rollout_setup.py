"""The server's rollouts: a ``RolloutService`` on the alerting pipeline's state store.

It starts once the storage, the engine and the alerting pipeline run, and reaches them so:
analyses query the embedded engine (``promql`` and judge metrics), events go out as alerts
through the running pipeline, the built-in proxies append their RED metrics to the TSDB,
and records live in the same state store (``state.url`` / ``--state.url``, else
``<data-dir>/state.db``). ``open()`` resumes every unfinished rollout where it was (its
proxy listening again with the committed weights); ``close()`` stops the loops and
proxies before the state store closes, and the state stays for the next start.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from sloguard.api._context import ServerContext
from sloguard.clock import Clock, SystemClock

if TYPE_CHECKING:  # the delivery package loads when the server starts rollouts (scipy: when a judge first runs)
    from sloguard.delivery.analysis.providers import ProviderEnv
    from sloguard.delivery.policy import BudgetSource
    from sloguard.delivery.service import RolloutService

log = logging.getLogger("sloguard.server")


#: What the error-budget policy asks, built from the running server (None: no policy).
BudgetFactory = Callable[[ServerContext], "BudgetSource | None"]


def default_budget(ctx: ServerContext) -> BudgetSource | None:
    """The SLOs' budgets and the pipeline's page alerts (``sloguard.delivery.budget``, when
    that module is there); else only the page alerts of the running pipeline, budgets
    unknown (a start is allowed)."""
    from sloguard.delivery.policy import AlertingPageAlerts

    try:
        module = importlib.import_module("sloguard.delivery.budget")
    except ImportError:
        return AlertingPageAlerts(ctx.alerting) if ctx.alerting is not None else None
    backends = ctx.settings.get("slo_backends")
    engine_for = (lambda slo: backends.engine_for(slo, ctx.engine)) if backends is not None else None
    source: BudgetSource = module.slo_budget_source(lambda: ctx.slos, ctx.engine, SystemClock(), lambda: ctx.alerting,
                                                    engine_for=engine_for)
    return source


def known_specs(patterns: list[str], base_dir: str) -> tuple[str, str] | None:
    """The ``rollout_files`` as one YAML stream and their names (the spec's source), or
    None when none is configured or matches. Read at each use, so edits need no reload."""
    from sloguard.rules import expand_rule_files

    files = expand_rule_files(patterns, base_dir)
    if not files:
        return None
    texts = [Path(f).read_text(encoding="utf-8") for f in files]
    return "\n---\n".join(texts), ", ".join(files)


def check_known_specs(patterns: list[str], base_dir: str) -> None:
    """Log every problem of the ``rollout_files`` at start (the server runs anyway)."""
    from sloguard.delivery.spec import load_bundle_files
    from sloguard.rules import expand_rule_files

    files = expand_rule_files(patterns, base_dir)
    bundle = load_bundle_files(files)
    for p in bundle.problems:
        (log.error if p.is_error else log.warning)("rollout file problem", extra={"problem": str(p)})
    log.info("rollout files read", extra={"files": len(files), "rollouts": [r.name for r in bundle.rollouts]})


class RolloutSetupError(Exception):
    """The rollout service cannot start (its stored rollouts cannot be read); says why."""


def provider_env(engine: Any, http: httpx.AsyncClient | None = None, backends: dict[str, Any] | None = None) -> ProviderEnv:
    """Analyses' view of the server: the embedded engine with and without labels, and the
    named query backends' engines (``query_backends``, for ``sloguardQueryBackend``)."""
    from sloguard.delivery.analysis.providers import ProviderEnv, engine_query

    queries = {name: engine_query(e) for name, e in (backends or {}).items()} if backends is not None else None
    if engine is None:
        return ProviderEnv(http=http, backends=queries)
    from sloguard.delivery.analysis.judged import engine_series_query

    return ProviderEnv(engine_query(engine), http=http, series=engine_series_query(engine), backends=queries)


def backend_engines(config: Any, config_path: Path | None) -> dict[str, Any]:
    """A ``sloguard.remote.RemoteEngine`` per ``query_backends`` entry (file paths in its
    HTTP settings relative to the config file): analyses query the backend's API directly,
    with its authentication, timeouts and retries."""
    from dataclasses import replace

    from sloguard.httpclient import with_directory
    from sloguard.remote import RemoteEngine

    out = {}
    for name, backend in (getattr(config, "query_backends", None) or {}).items():
        if config_path is not None:
            backend = replace(backend, http=with_directory(backend.http, str(config_path.parent)))
        out[name] = RemoteEngine(backend)
    return out


class RolloutSetup:
    """Starts the service with the server and stops it before the alerting pipeline."""

    def __init__(self, clock: Clock | None = None, budget: BudgetFactory | None = None, tick_ms: int = 1000) -> None:
        self.service: RolloutService | None = None
        self._clock = clock or SystemClock()
        self._budget = budget or default_budget
        self._tick_ms = tick_ms
        self._http: httpx.AsyncClient | None = None
        self._engines: dict[str, Any] = {}  #: the query backends' clients, closed at stop

    async def start(self, ctx: ServerContext, config_path: Path | None = None) -> RolloutService:
        """Create and open the service over ``ctx`` (storage, engine and alerting set);
        the config's ``rollout_files`` are relative to ``config_path``."""
        # the delivery package is loaded here, when the server serves rollouts (scipy only when a judge runs)
        from sloguard.delivery.service import RolloutService

        if ctx.alerting is None:
            raise RolloutSetupError("Rollouts need the alerting pipeline's state store, and it is not running.")
        self._http = httpx.AsyncClient(timeout=30.0)
        self._engines = backend_engines(ctx.config, config_path)
        service = RolloutService(
            ctx.alerting.store.rollouts, provider_env(ctx.engine, self._http, self._engines), self._clock,
            alerting=ctx.alerting, budget=self._budget(ctx), sink=ctx.storage, tick_ms=self._tick_ms,
        )
        try:
            await service.open()
        except Exception as e:
            await self._http.aclose()
            raise RolloutSetupError(f"cannot resume the stored rollouts: {e}") from e
        self.service = ctx.rollouts = service
        self._know_files(ctx, str(config_path.parent) if config_path is not None else "")
        log.info("rollout service started", extra={"state": getattr(ctx.alerting.store, "url", "")})
        return service

    @staticmethod
    def _know_files(ctx: ServerContext, base_dir: str) -> None:
        """``ctx.settings["rollout_files"]``: the API's way to the current config's files."""
        def patterns() -> list[str]:  # the config in force: reloads change it
            return list(getattr(ctx.config, "rollout_files", []) or [])

        ctx.settings["rollout_files"] = lambda: known_specs(patterns(), base_dir)
        if patterns():
            try:
                check_known_specs(patterns(), base_dir)
            except (OSError, ValueError) as e:  # unreadable or not UTF-8: named in the log, the server runs
                log.error("cannot read the rollout files", extra={"err": str(e)})

    async def stop(self, ctx: ServerContext) -> None:
        """Close the service (loops and proxies stop; state stays), then its HTTP client."""
        service, self.service = self.service, None
        ctx.rollouts = None
        if service is not None:
            try:
                await service.close()
            except Exception:  # a failing close must not keep the rest of the server up
                log.exception("the rollout service did not close cleanly")
        if self._http is not None:
            await self._http.aclose()
            self._http = None
        for engine in self._engines.values():
            engine.close()
        self._engines = {}
