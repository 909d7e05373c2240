"""Checks across a rollout and what it refers to: AnalysisTemplates that exist with their
arguments satisfied, and a router able to do every step (checked at validation)."""

from __future__ import annotations

from collections.abc import Mapping

from sloguard.delivery._spec_model import (
    AnalysisRef,
    BlueGreenStrategy,
    CanaryStrategy,
    RolloutSpec,
    SetHeaderRoute,
    SetMirrorRoute,
)
from sloguard.delivery._spec_read import join, split_where, suggest
from sloguard.delivery.analysis.template import AnalysisTemplate, TemplateError, instantiate
from sloguard.delivery.routers import RouterError, TrafficRouter, features_of, require
from sloguard.promql import ParseError
from sloguard.promql._ast_parse import parse
from sloguard.slo._reader import Reader


def analysis_paths(spec: RolloutSpec) -> list[tuple[str, AnalysisRef]]:
    """Each analysis of ``spec`` with the key path it was read from."""
    s = spec.strategy
    if isinstance(s, BlueGreenStrategy):
        base = "spec.strategy.blueGreen"
        pairs = [(f"{base}.prePromotionAnalysis", s.pre_promotion), (f"{base}.postPromotionAnalysis", s.post_promotion)]
        return [(p, a) for p, a in pairs if a is not None]
    base = "spec.strategy.canary"
    out = [(f"{base}.steps[{i}].analysis", st.ref) for i, st in enumerate(s.steps) if hasattr(st, "ref")]
    return out + ([(f"{base}.analysis", s.analysis)] if s.analysis else [])


def check_templates(r: Reader, spec: RolloutSpec, templates: Mapping[str, AnalysisTemplate]) -> None:
    for path, ref in analysis_paths(spec):
        declared: set[str] = set()
        for i, name in enumerate(ref.templates):
            where = f"{path}.templates[{i}].templateName"
            t = templates.get(name)
            if t is None:
                r.problem(where, f"no AnalysisTemplate named {name!r} was given{suggest(name, set(templates))}")
                continue
            declared |= {a.name for a in t.args}
            missing = [a.name for a in t.args if a.value is None and a.name not in ref.arg_map]
            for arg in missing:
                r.problem(join(path, "args"), f"the template {name!r} needs the argument {arg!r}: give it here")
            if not missing:
                _instantiate(r, t, ref, where)
        for arg in ref.arg_map:
            if declared and arg not in declared:
                r.warning(join(path, "args"), f"the argument {arg!r} is declared by none of the templates")


def _instantiate(r: Reader, t: AnalysisTemplate, ref: AnalysisRef, where: str) -> None:
    """The template's metrics with this analysis' arguments: what only the values break."""
    given = {k: v for k, v in ref.arg_map.items() if k in {a.name for a in t.args}}
    try:
        metrics = instantiate(t, given)
    except TemplateError as e:
        for p in e.problems:
            r.problem(where, f"with the arguments given, the template {t.name!r} ({t.source}) has a problem at {p.path}: {p.message}")
        return
    for i, m in enumerate(metrics):
        query = getattr(m.provider, "query", None)
        if not isinstance(query, str):
            continue
        try:
            parse(query)
        except ParseError as e:
            r.problem(where, f"with the arguments given, the template {t.name!r} ({t.source}) has a query at "
                      f"spec.metrics[{i}].provider.prometheus.query that is not valid PromQL: {e} (the query: {query!r})")


def check_router(r: Reader, spec: RolloutSpec) -> None:
    """Build the router from its config, then ask it for each step's features."""
    if spec.router is None:
        return
    try:
        router: TrafficRouter = spec.router.build()
    except RouterError as e:
        r.problem(*split_where(str(e), spec.router.path))
        return
    for i, step in enumerate(spec.strategy.steps if isinstance(spec.strategy, CanaryStrategy) else ()):
        if isinstance(step, SetHeaderRoute | SetMirrorRoute):
            kind = "setHeaderRoute" if isinstance(step, SetHeaderRoute) else "setMirrorRoute"
            where = f"spec.strategy.canary.steps[{i}].{kind}"
            try:
                require(router, features_of(step.route), where)
            except RouterError as e:
                r.problem(*split_where(str(e), where))

