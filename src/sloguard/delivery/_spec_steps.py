"""Reading canary steps and analysis references: Argo's ``spec.strategy.canary.steps``
format, which sloguard's own spec uses unchanged."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sloguard.delivery._spec_model import (
    Analysis,
    AnalysisRef,
    Pause,
    SetHeaderRoute,
    SetMirrorRoute,
    SetWeight,
    Step,
)
from sloguard.delivery._spec_read import integer, join, known, pause_seconds, scalar_text, suggest
from sloguard.delivery.routers import HeaderRoute, MatchKind, MirrorRoute, RouteMatch, RouterError
from sloguard.delivery.routers._types import check_match, check_route_name
from sloguard.slo._reader import Reader

STEP_KINDS = {"setWeight", "pause", "analysis", "setHeaderRoute", "setMirrorRoute"}
STEP_IGNORED = {"setCanaryScale": "sloguard routes traffic and does not scale replicas"}
STEP_REFUSED = {
    "experiment": "experiments run extra pods, which sloguard does not manage",
    "plugin": "step plugins are Argo controller extensions",
}
ANALYSIS_KEYS = {"templates", "args"}
ANALYSIS_IGNORED = {
    "measurementRetention": "sloguard keeps the last 10 measurements of each metric",
    "analysisRunMetadata": "sloguard creates no AnalysisRun objects to label",
}
ANALYSIS_REFUSED = {"dryRun": "a rollout-level dryRun cannot be honoured; put dryRun in the AnalysisTemplate"}


def read_steps(r: Reader, items: list[Any], path: str) -> tuple[Step, ...]:
    steps: list[Step] = []
    for i, raw in enumerate(items):
        where = join(path, i)
        step = _step(r, raw, where)
        if step is not None:
            steps.append(step)
    _check_weights(r, items, path)
    return tuple(steps)


def _step(r: Reader, raw: Any, where: str) -> Step | None:
    if not isinstance(raw, Mapping) or len(raw) != 1:
        r.problem(where, f"a step is a mapping with exactly one of {', '.join(sorted(STEP_KINDS))}, got {raw!r}")
        return None
    kind, body = next(iter(raw.items()))
    known(r, raw, where, STEP_KINDS, STEP_IGNORED, STEP_REFUSED)
    at = join(where, str(kind))
    if kind == "setWeight":
        w = integer(r, raw, "setWeight", where, low=0, high=100, required=True)
        return None if w is None else SetWeight(w)
    if kind == "pause":
        return _pause(r, body, at)
    if kind == "analysis":
        ref = read_analysis(r, body, at)
        return None if ref is None else Analysis(ref)
    if kind == "setHeaderRoute":
        return _header_route(r, body, at)
    if kind == "setMirrorRoute":
        return _mirror_route(r, body, at)
    return None


def _pause(r: Reader, body: Any, at: str) -> Pause | None:
    d = r.mapping(body, at)
    known(r, d, at, {"duration"})
    if d.get("duration") is None:
        return Pause(None)
    seconds = pause_seconds(r, d["duration"], join(at, "duration"))
    return None if seconds is None else Pause(seconds)


def _check_weights(r: Reader, items: list[Any], path: str) -> None:
    last: int | None = None
    for i, raw in enumerate(items):
        w = raw.get("setWeight") if isinstance(raw, Mapping) else None
        if not isinstance(w, int) or isinstance(w, bool) or not 0 <= w <= 100:
            continue
        if last is not None and w < last:
            r.warning(join(join(path, i), "setWeight"), f"lowers the canary's weight from {last} to {w} (allowed, as in Argo)")
        last = w


def read_analysis(r: Reader, body: Any, at: str, extra: set[str] | None = None) -> AnalysisRef | None:
    """An analysis reference: ``templates: [{templateName}]`` and ``args`` (Argo's list of
    ``{name, value}``, or a ``{name: value}`` mapping)."""
    d = r.mapping(body, at)
    known(r, d, at, ANALYSIS_KEYS | (extra or set()), ANALYSIS_IGNORED, ANALYSIS_REFUSED)
    mark = r.mark()
    names = _template_names(r, r.list_(d, "templates", at), join(at, "templates"))
    args = _args(r, d.get("args"), join(at, "args"))
    if "templates" not in d or d.get("templates") == []:
        r.problem(join(at, "templates"), "is required: a list of at least one {templateName: NAME}")
    start = integer(r, d, "startingStep", at, low=0) if extra and "startingStep" in extra else None
    return None if r.errors_since(mark) else AnalysisRef(tuple(names), args, start or 0)


def _template_names(r: Reader, items: list[Any], path: str) -> list[str]:
    names = []
    for i, t in enumerate(items):
        where = join(path, i)
        d = r.mapping(t, where)
        known(r, d, where, {"templateName", "clusterScope"})
        name = r.str_(d, "templateName", where, required=True)
        if name:
            names.append(name)
    return names


def _args(r: Reader, raw: Any, path: str) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    pairs: list[tuple[str, Any, str] | None]
    if isinstance(raw, Mapping):
        pairs = [(str(k), v, join(path, str(k))) for k, v in raw.items()]
    elif isinstance(raw, list):
        pairs = [_arg_item(r, a, join(path, i)) for i, a in enumerate(raw)]
    else:
        r.problem(path, f"expected a list of {{name, value}} or a mapping, got {type(raw).__name__}")
        return ()
    out = []
    for name, value, where in (p for p in pairs if p is not None):
        text = scalar_text(value)
        if text is None:
            r.problem(where, f"expected a string value, got {value!r}")
            continue
        out.append((name, text))
    return tuple(out)


def _arg_item(r: Reader, a: Any, where: str) -> tuple[str, Any, str] | None:
    d = r.mapping(a, where)
    known(r, d, where, {"name", "value"}, refused={"valueFrom": "references to pod template hashes, "
                                                  "fields and secrets are not resolved; give the value"})
    name = r.str_(d, "name", where, required=True)
    if not name or "valueFrom" in d:
        return None
    if d.get("value") is None:
        r.problem(join(where, "value"), "is required")
        return None
    return name, d["value"], join(where, "value")


def _string_match(r: Reader, raw: Any, where: str) -> tuple[MatchKind, str] | None:
    d = r.mapping(raw, where)
    kinds = [k for k in d if k in ("exact", "prefix", "regex")]
    known(r, d, where, {"exact", "prefix", "regex"})
    if len(kinds) != 1:
        r.problem(where, "needs exactly one of exact, prefix or regex")
        return None
    value = scalar_text(d[kinds[0]])
    if value is None:
        r.problem(join(where, kinds[0]), f"expected a string, got {d[kinds[0]]!r}")
        return None
    return MatchKind(kinds[0]), value


def _header_match(r: Reader, raw: Any, where: str) -> RouteMatch | None:
    d = r.mapping(raw, where)
    known(r, d, where, {"headerName", "headerValue"})
    name = r.str_(d, "headerName", where, required=True)
    sm = _string_match(r, d.get("headerValue"), join(where, "headerValue")) if "headerValue" in d else None
    if "headerValue" not in d:
        r.problem(join(where, "headerValue"), "is required")
    return _checked(r, RouteMatch(name, sm[1], sm[0]), where) if name and sm else None


def _checked(r: Reader, m: RouteMatch, where: str) -> RouteMatch | None:
    try:
        check_match(m, where)
    except RouterError as e:
        r.problem(where, str(e).partition(": ")[2].rstrip("."))
        return None
    return m


def _route_name(r: Reader, d: Mapping[str, Any], at: str) -> str:
    name = r.str_(d, "name", at, required=True)
    try:
        check_route_name(name, at)
    except RouterError as e:
        if name:
            r.problem(join(at, "name"), str(e).partition(": ")[2].rstrip("."))
    return name


def _header_route(r: Reader, body: Any, at: str) -> SetHeaderRoute | None:
    d = r.mapping(body, at)
    known(r, d, at, {"name", "match"})
    mark = r.mark()
    name = _route_name(r, d, at)
    matches = [_header_match(r, m, join(join(at, "match"), i)) for i, m in enumerate(r.list_(d, "match", at))]
    if r.errors_since(mark):
        return None
    return SetHeaderRoute(HeaderRoute(name, tuple(m for m in matches if m is not None)))


def _mirror_route(r: Reader, body: Any, at: str) -> SetMirrorRoute | None:
    d = r.mapping(body, at)
    known(r, d, at, {"name", "match", "percentage"})
    mark = r.mark()
    name = _route_name(r, d, at)
    pct = integer(r, d, "percentage", at, low=0, high=100)
    items = r.list_(d, "match", at)
    if len(items) > 1:
        r.problem(join(at, "match"), "sloguard mirrors requests matching one entry (its conditions all hold); "
                  f"{len(items)} alternative entries cannot be honoured: use one entry")
    matches = [m for i, it in enumerate(items[:1]) for m in _mirror_match(r, it, join(join(at, "match"), i))]
    if r.errors_since(mark):
        return None
    return SetMirrorRoute(MirrorRoute(name, tuple(matches), 100 if pct is None else pct))


def _mirror_match(r: Reader, raw: Any, where: str) -> list[RouteMatch]:
    d = r.mapping(raw, where)
    refused = {k: "sloguard's routers match on headers only" for k in ("method", "path")}
    known(r, d, where, {"headers", "headerName", "headerValue"}, refused=refused)
    if "headerName" in d:
        m = _header_match(r, {k: d[k] for k in ("headerName", "headerValue") if k in d}, where)
        return [m] if m else []
    out = []
    for name, raw_sm in r.mapping(d.get("headers"), join(where, "headers")).items():
        at = join(join(where, "headers"), str(name))
        sm = _string_match(r, raw_sm, at)
        m = _checked(r, RouteMatch(str(name), sm[1], sm[0]), at) if sm else None
        if m:
            out.append(m)
    return out


__all__ = ["STEP_KINDS", "read_analysis", "read_steps", "suggest"]
