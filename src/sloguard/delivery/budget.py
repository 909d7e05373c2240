"""The error-budget policy's view of the SLOs: a :class:`~sloguard.delivery.policy.BudgetSource`
reading the SLOs themselves.

The remaining budget of a service is the smallest ``budget_remaining_ratio`` over every SLO
of that service (and every label set of an SLO's grouping), computed by
:func:`sloguard.slo.budget.compute`, the function behind ``sloguard slo`` and
``/api/v1/slos``: one budget everywhere. A service with no SLO, or whose SLOs have no data
(or cannot be computed), has no budget to check (None). The page-alert half is
:class:`~sloguard.delivery.policy.AlertingPageAlerts` over the running alerting pipeline:
a firing alert with ``severity`` page or critical and the service's label (``service``,
which sloguard's SLO alert rules carry, or ``sloth_service``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from sloguard.alerting.service import AlertingService
from sloguard.clock import Clock
from sloguard.delivery.policy import AlertingPageAlerts, BudgetSource
from sloguard.promql import Engine
from sloguard.slo import budget
from sloguard.slo.model import SLO

__all__ = ["SLOBudgetSource", "slo_budget_source"]

log = logging.getLogger("sloguard.delivery")

SLOsFunc = Callable[[], Sequence[SLO]]
"""The SLOs as they are now (a server re-reads them on reload)."""
AlertingFunc = Callable[[], AlertingService | None]
"""The running alerting pipeline, or None while there is none."""


class SLOBudgetSource:
    """Budgets from ``slos()`` on ``engine`` at ``clock``'s now; page alerts from ``alerting()``."""

    def __init__(self, slos: SLOsFunc, engine: Engine | None, clock: Clock,
                 alerting: AlertingFunc = lambda: None,
                 severities: tuple[str, ...] = ("page", "critical"),
                 engine_for: Callable[[SLO], Engine] | None = None) -> None:
        self._slos, self._engine, self._clock = slos, engine, clock
        self._alerting, self._severities = alerting, severities
        #: The engine of an SLO that reads its own query backend (default: ``engine``).
        self._engine_for = engine_for

    def budgets(self, service: str) -> list[budget.Budget]:
        """Every budget of every SLO of ``service`` now (empty without an engine or SLO)."""
        engine = self._engine
        if engine is None:
            return []
        now = self._clock.now_ms()
        pick = self._engine_for or (lambda slo: engine)
        return [b for slo in self._slos() if slo.service == service for b in budget.compute(pick(slo), slo, now)]

    def remaining_budget(self, service: str) -> float | None:
        """The smallest remaining ratio over the service's SLOs; None without SLO or data."""
        found = self.budgets(service)
        for b in found:
            if b.budget_remaining_ratio is None:
                log.info("an SLO budget is left out of the rollout policy",
                         extra={"slo": b.slo, "service": service, "status": b.status.value, "why": b.message})
        ratios = [b.budget_remaining_ratio for b in found if b.budget_remaining_ratio is not None]
        return min(ratios) if ratios else None

    def firing_page_alert(self, service: str) -> str | None:
        """The name of a firing page (or critical) alert of ``service``, or None."""
        alerting = self._alerting()
        if alerting is None:
            return None
        return AlertingPageAlerts(alerting, severities=self._severities).firing_page_alert(service)


def slo_budget_source(slos: SLOsFunc, engine: Engine | None, clock: Clock,
                      alerting: AlertingFunc = lambda: None,
                      engine_for: Callable[[SLO], Engine] | None = None) -> BudgetSource:
    """The server's error-budget source: ``slos`` returns the loaded SLOs (``lambda:
    ctx.slos``), ``engine`` the server's query engine (None: no budget is ever checked),
    ``alerting`` the running pipeline (``lambda: ctx.alerting``), ``engine_for`` the engine
    of an SLO that names its own query backend."""
    return SLOBudgetSource(slos, engine, clock, alerting, engine_for=engine_for)
