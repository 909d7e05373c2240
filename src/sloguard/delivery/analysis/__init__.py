"""Analysis runs with Argo Rollouts' metric semantics made explicit: measurements, the
safe condition language, metric providers, and the reader of Argo's AnalysisTemplate.
See docs/delivery.md, section "Analysis".

The runner (``measure``, ``step``, ``run_to_end``) loads on first use (PEP 562): it brings
the metric providers and their HTTP clients, which reading a template or a spec does not need."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sloguard.delivery.analysis._errors import AnalysisError
from sloguard.delivery.analysis._measure import (
    Measurement,
    MeasurementPhase,
    assess,
    assess_result,
    is_no_data,
    render,
)
from sloguard.delivery.analysis._metric import (
    DEFAULT_CONSECUTIVE_ERROR_LIMIT,
    DEFAULT_NO_DATA_LIMIT,
    ERROR_RETRY_INTERVAL_MS,
    Metric,
    ProviderConfig,
)
from sloguard.delivery.analysis._result import AnalysisPhase, MetricResult
from sloguard.delivery.analysis._state import run_from_state, run_to_state
from sloguard.delivery.analysis.condition import Condition, ConditionError
from sloguard.delivery.analysis.run import (
    AnalysisRun,
    due_metrics,
    due_ms,
    next_due_ms,
    reconcile,
    start_run,
    terminate,
)

if TYPE_CHECKING:
    from sloguard.delivery.analysis._runner import measure, run_to_end, step

_LAZY = frozenset({"measure", "run_to_end", "step"})


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module("sloguard.delivery.analysis._runner"), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_CONSECUTIVE_ERROR_LIMIT", "DEFAULT_NO_DATA_LIMIT", "ERROR_RETRY_INTERVAL_MS",
    "AnalysisError", "AnalysisPhase", "AnalysisRun", "Condition", "ConditionError", "Measurement",
    "MeasurementPhase", "Metric", "MetricResult", "ProviderConfig", "assess", "assess_result",
    "due_metrics", "due_ms", "is_no_data", "measure", "next_due_ms", "reconcile", "render",
    "run_from_state", "run_to_end", "run_to_state", "start_run", "step", "terminate",
]
