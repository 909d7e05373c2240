"""Rollout specs: sloguard's own (``apiVersion: sloguard/v1``, ``kind: Rollout``) and Argo
Rollouts' ``Rollout`` (``argoproj.io/v1alpha1``), with Argo ``AnalysisTemplate``s given in
the same files or beside them.

``load_rollouts(text, source)`` and ``load_rollout_files(paths)`` return the valid rollouts
and every problem found (errors and warnings, see ``Problem.is_error``), each with its
file, line:column and key path; fields sloguard ignores are warnings, fields it cannot
honour errors. See docs/delivery.md, "Rollout spec".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sloguard.delivery import _spec_argo, _spec_native
from sloguard.delivery._spec_check import check_router, check_templates
from sloguard.delivery._spec_model import (
    Analysis,
    AnalysisRef,
    BlueGreenStrategy,
    CanaryStrategy,
    ErrorBudgetPolicy,
    JudgeMetric,
    JudgeQueries,
    KubernetesTarget,
    Pause,
    RolloutSpec,
    RouterSpec,
    SetHeaderRoute,
    SetMirrorRoute,
    SetWeight,
    SpecOrigin,
    Step,
    VersionTarget,
)
from sloguard.delivery.analysis.template import KINDS as TEMPLATE_KINDS
from sloguard.delivery.analysis.template import AnalysisTemplate, load_templates
from sloguard.slo._errors import Problem, Severity
from sloguard.slo._locate import locate
from sloguard.slo._reader import Reader
from sloguard.slo._yaml import load_yaml_all

__all__ = [
    "Analysis", "AnalysisRef", "BlueGreenStrategy", "CanaryStrategy", "ErrorBudgetPolicy", "JudgeMetric",
    "JudgeQueries", "KubernetesTarget", "Pause", "Problem", "RolloutSpec", "RouterSpec", "SetHeaderRoute",
    "SetMirrorRoute", "SetWeight", "Severity", "SpecBundle", "SpecOrigin", "Step", "VersionTarget", "load_bundle",
    "load_bundle_files", "load_rollout_files", "load_rollouts",
]


@dataclass(slots=True)
class _File:
    """One file read: rollouts (with their document prefix) before the cross-file checks."""

    source: str
    text: str
    rollouts: list[tuple[str, RolloutSpec]] = field(default_factory=list)
    templates: list[AnalysisTemplate] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SpecBundle:
    """What a text (or files) holds: the valid rollouts, every AnalysisTemplate read (by
    name; a later one of the same name wins, as in ``load_rollout_files``), and every
    problem (errors and warnings). A rollout with an error is not in ``rollouts``."""

    rollouts: list[RolloutSpec]
    templates: dict[str, AnalysisTemplate]
    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]


def load_rollouts(text: str, source: str = "<text>") -> tuple[list[RolloutSpec], list[Problem]]:
    """The valid rollouts in ``text`` (templates they use may be in the same text)."""
    b = load_bundle(text, source)
    return b.rollouts, b.problems


def load_rollout_files(paths: Iterable[str | Path]) -> tuple[list[RolloutSpec], list[Problem]]:
    """Rollouts and AnalysisTemplates from several files; a rollout may use a template of any of them."""
    b = load_bundle_files(paths)
    return b.rollouts, b.problems


def load_bundle(text: str, source: str = "<text>") -> SpecBundle:
    """The rollouts of ``text`` with the templates it holds, resolved, and its problems."""
    return _finish([_read(text, source)])


def load_bundle_files(paths: Iterable[str | Path]) -> SpecBundle:
    """``load_bundle`` over several files; a rollout may use a template of any of them."""
    return _finish([_read_path(Path(p)) for p in paths])


def _read_path(p: Path) -> _File:
    try:
        return _read(p.read_text(encoding="utf-8"), str(p))
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) else f"not UTF-8 text ({e.reason})"
        return _File(str(p), "", problems=[Problem(str(p), "", f"cannot read file: {reason}")])


def _read(text: str, source: str) -> _File:
    f = _File(source, text)
    try:
        docs = [d for d in load_yaml_all(text) if d is not None]
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        f.problems.append(Problem(source, "", f"invalid YAML: {getattr(e, 'problem', e)}", file_line=line, file_column=col))
        return f
    if not docs:
        f.problems.append(Problem(source, "", "holds no document (expected a Rollout)"))
    r = Reader(source)
    for i, doc in enumerate(docs):
        r.prefix = f"documents[{i}]." if len(docs) > 1 else ""
        _document(f, r, doc)
    if any(_is_template(d) for d in docs):
        _templates(f, docs, text)
    f.problems += r.problems
    return f


def _is_template(d: Any) -> bool:
    return isinstance(d, Mapping) and d.get("kind") in TEMPLATE_KINDS


def _document(f: _File, r: Reader, doc: Any) -> None:
    if not isinstance(doc, Mapping):
        r.problem("", f"expected a mapping (a Rollout or an AnalysisTemplate), got {type(doc).__name__}")
        return
    api, kind = doc.get("apiVersion"), doc.get("kind")
    if _is_template(doc):
        return
    if api == _spec_native.API_VERSION:
        spec = _spec_native.load(doc, r, f.source)
    elif api == _spec_argo.API_VERSION and kind == "Rollout":
        spec = _spec_argo.load(doc, r, f.source)
    else:
        r.problem("apiVersion", f"unknown document {api!r} {kind!r}: expected `apiVersion: sloguard/v1` "
                  "`kind: Rollout`, an Argo Rollout or AnalysisTemplate (`argoproj.io/v1alpha1`)")
        return
    if spec is not None:
        f.rollouts.append((r.prefix, spec))


def _templates(f: _File, docs: list[Any], text: str) -> None:
    """Templates via the analysis package's reader; its problems for non-template documents are dropped."""
    found, problems = load_templates(text, f.source)
    f.templates += found
    several = len(docs) > 1
    for p in problems:
        index = int(p.path.split("]")[0].removeprefix("documents[")) if several and p.path.startswith("documents[") else 0
        if _is_template(docs[index]):
            f.problems.append(Problem(f.source, p.path, p.message))


def _finish(files: list[_File]) -> SpecBundle:
    templates = {t.name: t for f in files for t in f.templates}
    specs: list[RolloutSpec] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for f in files:
        for prefix, spec in f.rollouts:
            r = Reader(f.source)
            r.prefix = prefix
            if spec.name in seen:
                r.problem("metadata.name", f"the rollout {spec.name!r} is defined twice (first in {seen[spec.name]})")
            seen.setdefault(spec.name, f.source)
            check_templates(r, spec, templates)
            check_router(r, spec)
            f.problems += r.problems
            if not any(p.is_error for p in r.problems):
                specs.append(spec)
        problems += locate(f.text, list(dict.fromkeys(f.problems)))
    return SpecBundle(specs, templates, problems)
