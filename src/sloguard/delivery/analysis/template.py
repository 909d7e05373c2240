"""Argo Rollouts' ``AnalysisTemplate`` and ``ClusterAnalysisTemplate`` (``argoproj.io/v1alpha1``),
read unchanged.

``load_templates`` reads YAML (one or more documents) and checks everything it can before
the arguments are known, returning every problem with its key path (``spec.metrics[0].
provider.datadog: is not supported by sloguard: ...``), never just the first.
``instantiate`` substitutes ``{{args.NAME}}`` (values given at use, else the template's
defaults) and returns the run's metrics, or raises ``TemplateError`` with all problems.

A ``provider.prometheus`` without ``address`` queries the embedded engine (``promql``
provider); with one, the remote server, unless ``embedded_prometheus`` sends every query to
the embedded engine (to run a template written for a cluster against sloguard's own store).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from sloguard.delivery.analysis._metric import Metric
from sloguard.delivery.analysis._template_fields import Reader, TemplateError, TemplateProblem
from sloguard.delivery.analysis._template_metric import read_metric
from sloguard.labels import GoRegexError, compile_go
from sloguard.nesting import yaml_load_all

__all__ = [
    "API_VERSION", "KINDS", "AnalysisTemplate", "TemplateArg", "TemplateError", "TemplateProblem",
    "instantiate", "load_template_file", "load_templates",
]

API_VERSION = "argoproj.io/v1alpha1"
_NOT_A_METRIC: Mapping[str, Any] = MappingProxyType({})  # keeps the others' indices
KINDS = ("AnalysisTemplate", "ClusterAnalysisTemplate")
SPEC_KEYS = {"metrics", "args", "dryRun"}
SPEC_UNSUPPORTED = {
    "measurementRetention": "sloguard keeps the last 10 measurements of each metric and every total",
    "templates": "compose templates in the rollout instead",
}


@dataclass(frozen=True, slots=True)
class TemplateArg:
    """``spec.args[i]``: a name and its default value (None: it must be given at use)."""

    name: str
    value: str | None = None


@dataclass(frozen=True, slots=True)
class AnalysisTemplate:
    """A template as read: its kind, name, args, ``dryRun`` metric-name patterns (RE2,
    unanchored, as Argo matches them) and metrics as written (substituted at use)."""

    kind: str
    name: str
    args: tuple[TemplateArg, ...]
    dry_run: tuple[str, ...]
    metrics: tuple[Mapping[str, Any], ...]
    source: str = "<text>"


def load_templates(text: str, source: str = "<text>") -> tuple[list[AnalysisTemplate], list[TemplateProblem]]:
    """Every template in ``text`` and every problem found (paths prefixed ``documents[i].``
    when the text holds several documents)."""
    try:
        docs = [d for d in yaml_load_all(text) if d is not None]
    except yaml.YAMLError as e:
        return [], [TemplateProblem(source, "", f"is not valid YAML: {e}")]
    out: list[AnalysisTemplate] = []
    problems: list[TemplateProblem] = []
    for i, doc in enumerate(docs):
        prefix = f"documents[{i}]." if len(docs) > 1 else ""
        template, found = _read(doc, source, prefix)
        problems += found
        if template is not None and not found:
            out.append(template)
    if not docs:
        problems.append(TemplateProblem(source, "", "holds no template"))
    return out, problems


def load_template_file(path: str | Path) -> tuple[list[AnalysisTemplate], list[TemplateProblem]]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        return [], [TemplateProblem(str(path), "", f"cannot be read: {e.strerror or e}")]
    return load_templates(text, str(path))


def instantiate(
    template: AnalysisTemplate, args: Mapping[str, str] | None = None, *, embedded_prometheus: bool = False,
    query_backends: frozenset[str] | None = None,
) -> tuple[Metric, ...]:
    """The metrics of a run of ``template`` with ``args`` (name -> value); ``TemplateError``
    lists every problem: an argument without a value, one the template does not declare, and
    every field that is wrong once substituted."""
    given = dict(args or {})
    r = Reader(template.source, {}, backends=query_backends)
    declared = {a.name for a in template.args}
    for name in given:
        if name not in declared:
            r.problem("spec.args", f"the argument {name!r} is given but the template does not declare it")
    values: dict[str, str | None] = {a.name: given.get(a.name, a.value) for a in template.args}
    for name, value in values.items():
        if value is None:
            r.problem("spec.args", f"the argument {name!r} has no value: give one at use")
    if r.problems:
        raise TemplateError(r.problems)
    r.args = values
    metrics = _metrics(r, template, "", embedded_prometheus)
    if r.problems:
        raise TemplateError(r.problems)
    return tuple(m for m in metrics if m is not None)


def _read(doc: Any, source: str, prefix: str) -> tuple[AnalysisTemplate | None, list[TemplateProblem]]:
    r = Reader(source, {})
    if not isinstance(doc, Mapping):
        r.problem(prefix.rstrip("."), "must be a mapping (an AnalysisTemplate)")
        return None, r.problems
    r.keys(doc, prefix.rstrip("."), {"apiVersion", "kind", "metadata", "spec"}, {})
    if doc.get("apiVersion") != API_VERSION:
        r.problem(f"{prefix}apiVersion", f"must be {API_VERSION}, not {doc.get('apiVersion')!r}")
    if doc.get("kind") not in KINDS:
        r.problem(f"{prefix}kind", f"must be one of {', '.join(KINDS)}, not {doc.get('kind')!r}")
    meta = doc.get("metadata")
    name = meta.get("name") if isinstance(meta, Mapping) else None
    if not isinstance(name, str) or not name:
        r.problem(f"{prefix}metadata.name", "is required")
    spec = doc.get("spec")
    if not isinstance(spec, Mapping):
        r.problem(f"{prefix}spec", "is required and must be a mapping")
        return None, r.problems
    template = AnalysisTemplate(
        str(doc.get("kind")), str(name), _args(r, spec, prefix), _dry_run(r, spec, prefix),
        _raw_metrics(r, spec, prefix), source,
    )
    r.keys(spec, f"{prefix}spec", SPEC_KEYS, SPEC_UNSUPPORTED)
    r.args = {a.name: a.value for a in template.args}
    _metrics(r, template, prefix, False)  # every check that does not need the args given at use
    return template, r.problems


def _args(r: Reader, spec: Mapping[str, Any], prefix: str) -> tuple[TemplateArg, ...]:
    items = spec.get("args") or []
    if not isinstance(items, list):
        r.problem(f"{prefix}spec.args", "must be a list")
        return ()
    out: list[TemplateArg] = []
    for i, a in enumerate(items):
        path = f"{prefix}spec.args[{i}]"
        if not isinstance(a, Mapping) or not isinstance(a.get("name"), str):
            r.problem(path, "must be a mapping with a name")
            continue
        r.keys(a, path, {"name", "value"}, {"valueFrom": "secrets and field references are not read; give the value"})
        value = a.get("value")
        out.append(TemplateArg(a["name"], None if value is None else _scalar(value)))
    names = [a.name for a in out]
    for n in sorted({n for n in names if names.count(n) > 1}):
        r.problem(f"{prefix}spec.args", f"the argument {n!r} is declared twice")
    return tuple(out)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _dry_run(r: Reader, spec: Mapping[str, Any], prefix: str) -> tuple[str, ...]:
    items = spec.get("dryRun") or []
    out: list[str] = []
    for i, d in enumerate(items if isinstance(items, list) else [items]):
        path = f"{prefix}spec.dryRun[{i}]"
        if not isinstance(d, Mapping) or not isinstance(d.get("metricName"), str):
            r.problem(path, "must be a mapping with a metricName")
            continue
        try:
            compile_go(d["metricName"])
        except GoRegexError as e:
            r.problem(f"{path}.metricName", str(e))
            continue
        out.append(d["metricName"])
    return tuple(out)


def _raw_metrics(r: Reader, spec: Mapping[str, Any], prefix: str) -> tuple[Mapping[str, Any], ...]:
    items = spec.get("metrics")
    if not isinstance(items, list) or not items:
        r.problem(f"{prefix}spec.metrics", "is required: a list of at least one metric")
        return ()
    for i, m in enumerate(items):
        if not isinstance(m, Mapping):
            r.problem(f"{prefix}spec.metrics[{i}]", f"must be a mapping (a metric), not {type(m).__name__}")
    return tuple(m if isinstance(m, Mapping) else _NOT_A_METRIC for m in items)


def _metrics(r: Reader, t: AnalysisTemplate, prefix: str, embedded: bool) -> list[Metric | None]:
    names = [str(m.get("name", "")) for m in t.metrics]
    for i, n in enumerate(names):
        if n and names.index(n) != i:
            r.problem(f"{prefix}spec.metrics[{i}].name", f"duplicate name {n!r}")
    for i, pattern in enumerate(t.dry_run):
        if not any(compile_go(pattern).matches(n) for n in names):
            r.problem(f"{prefix}spec.dryRun[{i}].metricName", f"{pattern!r} matches no metric name")
    return [
        read_metric(r, m, f"{prefix}spec.metrics[{i}]", embedded, _is_dry(t, names[i]))
        for i, m in enumerate(t.metrics) if m is not _NOT_A_METRIC
    ]


def _is_dry(t: AnalysisTemplate, name: str) -> bool:
    return any(compile_go(p).matches(name) for p in t.dry_run)
