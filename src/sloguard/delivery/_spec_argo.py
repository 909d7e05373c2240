"""Argo Rollouts' ``Rollout`` (``argoproj.io/v1alpha1``): ``spec.strategy.canary`` steps and
``spec.strategy.blueGreen`` read unchanged; pod-management fields are named as ignored
(warnings) and fields sloguard cannot honour as errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sloguard.delivery._spec_model import KubernetesTarget, RolloutSpec, SpecOrigin, VersionTarget
from sloguard.delivery._spec_native import read_blue_green, read_canary
from sloguard.delivery._spec_read import join, known
from sloguard.slo._reader import Reader

API_VERSION = "argoproj.io/v1alpha1"
_PODS = "sloguard routes traffic between running versions and does not manage pods"
SPEC_IGNORED = {k: _PODS for k in (
    "replicas", "selector", "template", "workloadRef", "minReadySeconds", "revisionHistoryLimit",
    "progressDeadlineSeconds", "progressDeadlineAbort", "paused", "restartAt", "rollbackWindow",
)} | {"analysis": "AnalysisRun history limits do not apply: sloguard keeps runs in its state store"}
CANARY_IGNORED = {k: _PODS for k in (
    "maxSurge", "maxUnavailable", "antiAffinity", "dynamicStableScale", "abortScaleDownDelaySeconds",
    "scaleDownDelaySeconds", "scaleDownDelayRevisionLimit", "minPodsPerReplicaSet", "canaryMetadata",
    "stableMetadata", "replicaProgressThreshold",
)} | {
    "trafficRouting": "not used: give sloguard a router (`sloguard rollout start --router`, or a native spec's spec.router)",
    "pingPong": "ping-pong services are not used; stableService and canaryService name the versions",
}
BLUE_GREEN_IGNORED = {k: _PODS for k in (
    "antiAffinity", "previewReplicaCount", "scaleDownDelayRevisionLimit", "maxUnavailable",
    "abortScaleDownDelaySeconds", "activeMetadata", "previewMetadata",
)}


def load(doc: Mapping[str, Any], r: Reader, source: str) -> RolloutSpec | None:
    mark = r.mark()
    known(r, doc, "", {"apiVersion", "kind", "metadata", "spec", "status"})
    meta = r.mapping(doc.get("metadata"), "metadata")
    name = r.str_(meta, "name", "metadata", required=True)
    spec = r.mapping(doc.get("spec"), "spec")
    known(r, spec, "spec", {"strategy"}, SPEC_IGNORED)
    strategy_raw = r.mapping(spec.get("strategy"), "spec.strategy")
    known(r, strategy_raw, "spec.strategy", {"canary", "blueGreen"})
    if len(strategy_raw) != 1:
        r.problem("spec.strategy", "needs exactly one of canary or blueGreen")
        return None
    if "canary" in strategy_raw:
        canary_raw = r.mapping(strategy_raw["canary"], "spec.strategy.canary")
        stable, canary = _service(canary_raw, "stableService"), _service(canary_raw, "canaryService")
        strategy: Any = read_canary(r, canary_raw, "spec.strategy.canary",
                                    {"steps", "analysis", "stableService", "canaryService"}, CANARY_IGNORED)
        _alternatives(r, canary_raw.get("steps"), "spec.strategy.canary.steps")
    else:
        stable = canary = None
        strategy = read_blue_green(r, strategy_raw["blueGreen"], join("spec.strategy", "blueGreen"), None, None,
                                   BLUE_GREEN_IGNORED, preview_optional=True)
    if r.errors_since(mark):
        return None
    return RolloutSpec(name, name, strategy, stable, canary, None, origin=SpecOrigin.ARGO, source=source)


def _service(d: Mapping[str, Any], key: str) -> VersionTarget | None:
    v = d.get(key)
    if not isinstance(v, str) or not v:
        return None
    return VersionTarget(v, (), KubernetesTarget(v))


def _alternatives(r: Reader, steps: Any, path: str) -> None:
    """Argo (with Istio) sends a request to the canary when ANY entry of a setHeaderRoute's
    ``match`` holds; sloguard's routes need ALL of them, so several entries are refused."""
    for i, step in enumerate(steps if isinstance(steps, list) else []):
        route = step.get("setHeaderRoute") if isinstance(step, Mapping) else None
        match = route.get("match") if isinstance(route, Mapping) else None
        if isinstance(match, list) and len(match) > 1:
            r.problem(f"{path}[{i}].setHeaderRoute.match",
                      f"Argo treats these {len(match)} entries as alternatives (any one matches) but sloguard's "
                      "header routes need all of them to hold: use one setHeaderRoute step (with its own name) per entry")
