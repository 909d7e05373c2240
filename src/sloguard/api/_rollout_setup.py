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
from typing import TYPE_CHECKING, Any

import httpx

from sloguard.api._context import ServerContext
from sloguard.clock import Clock, SystemClock

if TYPE_CHECKING:  # the delivery package (scipy, for its judges) loads when the server starts rollouts
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
    source: BudgetSource = module.slo_budget_source(lambda: ctx.slos, ctx.engine, SystemClock(), lambda: ctx.alerting)
    return source


class RolloutSetupError(Exception):
    """The rollout service cannot start (its stored rollouts cannot be read); says why."""


def provider_env(engine: Any, http: httpx.AsyncClient | None = None) -> ProviderEnv:
    """Analyses' view of the server: the embedded engine with and without labels."""
    from sloguard.delivery.analysis.providers import ProviderEnv

    if engine is None:
        return ProviderEnv(http=http)
    from sloguard.delivery.analysis.judged import engine_series_query
    from sloguard.delivery.analysis.providers import engine_query

    return ProviderEnv(engine_query(engine), http=http, series=engine_series_query(engine))


class RolloutSetup:
    """Starts the service with the server and stops it before the alerting pipeline."""

    def __init__(self, clock: Clock | None = None, budget: BudgetFactory | None = None, tick_ms: int = 1000) -> None:
        self.service: RolloutService | None = None
        self._clock = clock or SystemClock()
        self._budget = budget or default_budget
        self._tick_ms = tick_ms
        self._http: httpx.AsyncClient | None = None

    async def start(self, ctx: ServerContext) -> RolloutService:
        """Create and open the service over ``ctx`` (storage, engine and alerting set)."""
        from sloguard.delivery.service import (
            RolloutService,  # scipy and the judges: only when served
        )

        if ctx.alerting is None:
            raise RolloutSetupError("Rollouts need the alerting pipeline's state store, and it is not running.")
        self._http = httpx.AsyncClient(timeout=30.0)
        service = RolloutService(
            ctx.alerting.store.rollouts, provider_env(ctx.engine, self._http), self._clock,
            alerting=ctx.alerting, budget=self._budget(ctx), sink=ctx.storage, tick_ms=self._tick_ms,
        )
        try:
            await service.open()
        except Exception as e:
            await self._http.aclose()
            raise RolloutSetupError(f"cannot resume the stored rollouts: {e}") from e
        self.service = ctx.rollouts = service
        log.info("rollout service started", extra={"state": getattr(ctx.alerting.store, "url", "")})
        return service

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
