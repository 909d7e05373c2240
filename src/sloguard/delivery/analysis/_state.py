"""An analysis run as JSON-safe data, for the state store: everything but the metrics'
definitions, which the controller re-creates from the template and its args (a run's
metrics are code and conditions, its state is counts and measurements)."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from sloguard.delivery.analysis._errors import AnalysisError
from sloguard.delivery.analysis._measure import Measurement, MeasurementPhase
from sloguard.delivery.analysis._metric import Metric
from sloguard.delivery.analysis._result import AnalysisPhase, MetricResult
from sloguard.delivery.analysis.run import AnalysisRun
from sloguard.delivery.judges import verdict_from_dict

STATE_VERSION = 1


def run_to_state(run: AnalysisRun) -> dict[str, Any]:
    """The run's state as dicts, lists, strings and numbers."""
    return {
        "version": STATE_VERSION, "name": run.name, "started_ms": run.started_ms, "phase": run.phase.value,
        "message": run.message, "terminate": run.terminate, "completed_ms": run.completed_ms,
        "measurement_limit": run.measurement_limit,
        "results": [_result_to_state(r) for r in run.results],
    }


def _result_to_state(r: MetricResult) -> dict[str, Any]:
    out = asdict(r)
    out["phase"] = r.phase.value
    out["measurements"] = [
        {**asdict(m), "phase": m.phase.value, "verdict": m.verdict.to_dict() if m.verdict else None}
        for m in r.measurements
    ]
    return out


def run_from_state(state: dict[str, Any], metrics: tuple[Metric, ...] | list[Metric]) -> AnalysisRun:
    """The run saved by ``run_to_state``, with ``metrics`` (the same names, in any order);
    ``AnalysisError`` when they do not match or the state is not one this version wrote."""
    if state.get("version") != STATE_VERSION:
        raise AnalysisError(f"An analysis run state of version {state.get('version')!r} cannot be read "
                            f"(this sloguard writes version {STATE_VERSION}).")
    by_name = {m.name: m for m in metrics}
    saved = [r["name"] for r in state["results"]]
    if sorted(saved) != sorted(by_name):
        raise AnalysisError(f"The saved run {state['name']!r} has metrics {saved}, but {sorted(by_name)} were given.")
    results = tuple(_result_from_state(r) for r in state["results"])
    return AnalysisRun(
        state["name"], tuple(by_name[n] for n in saved), int(state["started_ms"]), results,
        AnalysisPhase(state["phase"]), state["message"], bool(state["terminate"]), state["completed_ms"],
        int(state["measurement_limit"]),
    )


def _result_from_state(r: dict[str, Any]) -> MetricResult:
    known = {f.name for f in fields(MetricResult)}
    values = {k: v for k, v in r.items() if k in known}
    values["phase"] = AnalysisPhase(r["phase"])
    values["measurements"] = tuple(
        Measurement(MeasurementPhase(m["phase"]), m["started_ms"], m["finished_ms"], m["value"], m["message"],
                    verdict_from_dict(m["verdict"]) if m.get("verdict") else None)
        for m in r["measurements"]
    )
    return MetricResult(**values)
