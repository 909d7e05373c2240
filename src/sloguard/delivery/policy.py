"""The error-budget policy: a rollout of a service whose SLO error budget is exhausted does
not start unless a person forces it (the override is recorded with who and why), and a
firing page-severity SLO alert of the service aborts a running rollout.

The policy sees the SLOs only through :class:`BudgetSource`; :class:`AlertingPageAlerts`
answers its page-alert half from the running alerting pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from sloguard.alerting.service import AlertingService
from sloguard.state import Override, RolloutEvent, RolloutRepository

POLICY = "errorBudget"
"""The name an error-budget override is recorded under."""


class PolicyError(Exception):
    """A rollout refused by the error-budget policy, or a force without who and why."""


class BudgetSource(Protocol):
    """What the SLOs say of a service."""

    def remaining_budget(self, service: str) -> float | None:
        """The ratio of the error budget left (1: untouched, 0 or less: exhausted), or None
        when the service has no SLO or it cannot be computed."""
        ...

    def firing_page_alert(self, service: str) -> str | None:
        """The name of a firing page-severity SLO alert of the service, or None."""
        ...


@dataclass(frozen=True, slots=True)
class Force:
    """A person starting a rollout despite the policy: both fields must say something."""

    actor: str
    reason: str


@dataclass(frozen=True, slots=True)
class StartCheck:
    """The policy's answer for a start: allowed or not, the sentence why, and the override
    to record when a force let an otherwise refused start through."""

    allowed: bool
    reason: str
    override: Override | None = None


def check_start(source: BudgetSource, rollout: str, service: str, now_ms: int, force: Force | None = None) -> StartCheck:
    """Whether a rollout of ``service`` may start now (pure but for ``source``)."""
    remaining = source.remaining_budget(service)
    if remaining is None:
        return StartCheck(True, f"The service {service!r} has no error budget to check; the start is allowed.")
    if remaining > 0:
        return StartCheck(True, f"The service {service!r} has {remaining:.1%} of its error budget left.")
    why = f"The error budget of the service {service!r} is exhausted ({remaining:.1%} left)"
    if force is None:
        return StartCheck(False, f"{why}; the rollout {rollout!r} does not start unless forced with who and why.")
    if not force.actor.strip() or not force.reason.strip():
        raise PolicyError(f"Forcing the rollout {rollout!r} past the error-budget policy needs who and why; "
                          f"got actor {force.actor!r} and reason {force.reason!r}.")
    override = Override(rollout, now_ms, POLICY, force.actor, force.reason)
    return StartCheck(True, f"{why}; started anyway by {force.actor}: {force.reason}", override)


def enforce_start(repo: RolloutRepository, source: BudgetSource, rollout: str, service: str, now_ms: int,
                  force: Force | None = None) -> StartCheck:
    """``check_start``, recording the override (or the refusal as an event); PolicyError if refused."""
    check = check_start(source, rollout, service, now_ms, force)
    if check.override is not None:
        repo.record_override(check.override)
        repo.append_event(RolloutEvent(rollout, now_ms, "RolloutPolicyOverridden", "ErrorBudgetExhausted",
                                       check.reason, check.override.actor))
    if not check.allowed:
        repo.append_event(RolloutEvent(rollout, now_ms, "RolloutRefused", "ErrorBudgetExhausted", check.reason))
        raise PolicyError(check.reason)
    return check


def page_alert(source: BudgetSource | None, service: str) -> str:
    """The firing page alert of ``service`` as ``Inputs.page_alert`` wants it ('' for none)."""
    if source is None:
        return ""
    name = source.firing_page_alert(service)
    return repr(name) if name else ""


class AlertingPageAlerts:
    """The page-alert half of a :class:`BudgetSource` from the alerting pipeline: a firing
    (active) alert with ``severity`` in ``severities`` whose service is named by one of
    ``service_labels`` (``service`` on sloguard's SLO alerts, ``sloth_service`` on the rules
    of ``sloguard slo rules --compat sloth``); budgets come from ``budgets`` (service ->
    remaining ratio) when given."""

    def __init__(self, alerting: AlertingService, budgets: dict[str, float] | None = None,
                 severities: tuple[str, ...] = ("page", "critical"),
                 service_labels: tuple[str, ...] = ("service", "sloth_service")) -> None:
        self._alerting = alerting
        self._budgets = budgets or {}
        self._severities = severities
        self._service_labels = service_labels

    def remaining_budget(self, service: str) -> float | None:
        return self._budgets.get(service)

    def firing_page_alert(self, service: str) -> str | None:
        now = self._alerting.now_ms()
        for alert in self._alerting.held():  # labels only: judging 100,000 alerts' marks would cost seconds
            labels = alert.labels
            if (any(labels.get(k) == service for k in self._service_labels)
                    and labels.get("severity") in self._severities
                    and not labels.get("alertname").startswith("Rollout") and not alert.resolved_at(now)):
                return labels.get("alertname")
        return None
