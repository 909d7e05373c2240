"""What ``RolloutService`` checks before a rollout starts: the spec text read into one
rollout and its plan, the rollout's name, and the error-budget policy flags of the spec
(the page-alert half given to the runner as a ``BudgetSource``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sloguard.delivery._spec_model import ErrorBudgetPolicy, RolloutSpec
from sloguard.delivery._steps import Plan
from sloguard.delivery.plan import PlanBuildError, plan_from_spec
from sloguard.delivery.policy import BudgetSource
from sloguard.delivery.spec import load_bundle
from sloguard.slo._errors import Problem

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_ERROR_TYPES = {400: "bad_data", 404: "not_found", 409: "conflict"}


class RolloutServiceError(Exception):
    """A request the service refuses: ``status`` 400 (a bad spec or request, with the
    spec's ``problems``), 404 (no such rollout) or 409 (a conflict: already running, the
    error-budget policy, a transition the phase does not allow)."""

    def __init__(self, message: str, status: int = 400, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.problems = list(problems)

    @property
    def error_type(self) -> str:
        """The API's ``errorType``: ``bad_data``, ``not_found`` or ``conflict``."""
        return _ERROR_TYPES.get(self.status, "internal")

    def problems_json(self) -> list[dict[str, Any]]:
        """The problems as the API writes them: source, key path, message, severity and
        the line and column in the text when known."""
        return [{"source": p.source, "path": p.path, "message": p.message, "severity": p.severity.value,
                 "line": p.file_line, "column": p.file_column} for p in self.problems]


def check_name(name: str, where: str) -> None:
    """A rollout name is a DNS label: lower-case letters, digits and '-', at most 63."""
    if not _NAME.match(name):
        raise RolloutServiceError(f"The rollout name {name!r} ({where}) is not a DNS label: use lower-case letters, "
                                  "digits and '-', starting and ending with a letter or digit, at most 63 characters.")



def read_spec(text: str, source: str, name: str | None = None, **plan_options: Any) -> tuple[RolloutSpec, Plan]:
    """The rollout of ``text`` (the one named ``name`` when it holds several) and its plan
    (``plan_options`` go to ``plan_from_spec``); RolloutServiceError (400) listing every
    problem of the text otherwise."""
    bundle = load_bundle(text, source)
    if bundle.errors:
        first = bundle.errors[0]
        more = f" (and {len(bundle.errors) - 1} more)" if len(bundle.errors) > 1 else ""
        raise RolloutServiceError(f"The rollout spec from {source} has problems: {first}{more}.", 400, bundle.problems)
    spec = _pick(bundle.rollouts, source, name)
    check_name(spec.name, f"metadata.name in {source}")
    try:
        return spec, plan_from_spec(spec, bundle.templates, **plan_options)
    except PlanBuildError as e:
        raise RolloutServiceError(str(e), 400, [Problem(source, "", str(e))]) from None


def _pick(rollouts: list[RolloutSpec], source: str, name: str | None) -> RolloutSpec:
    names = [r.name for r in rollouts]
    if name is not None:
        for r in rollouts:
            if r.name == name:
                return r
        raise RolloutServiceError(f"The spec from {source} holds no rollout named {name!r} (it holds {names or 'none'}).")
    if len(rollouts) != 1:
        what = "no rollout" if not rollouts else f"{len(rollouts)} rollouts ({', '.join(names)}); name the one to start"
        raise RolloutServiceError(f"The spec from {source} holds {what}.")
    return rollouts[0]


class PageAlerts:
    """The runner's ``BudgetSource``: page alerts of the service when the spec's policy
    aborts on them; no budget (the service checks the start itself, honouring
    ``blockWhenExhausted``)."""

    def __init__(self, source: BudgetSource | None, policy: ErrorBudgetPolicy) -> None:
        self._source, self._policy = source, policy

    def remaining_budget(self, service: str) -> float | None:
        return None

    def firing_page_alert(self, service: str) -> str | None:
        if self._source is None or not self._policy.abort_on_page:
            return None
        return self._source.firing_page_alert(service)
