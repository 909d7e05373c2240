"""Load SLO spec files in any supported format into the normalised model."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from sloguard.slo import _spec_native, _spec_openslo, _spec_sloth
from sloguard.slo._errors import Problem, SpecError
from sloguard.slo._reader import Reader
from sloguard.slo._validate import check_unique
from sloguard.slo._yaml import load_yaml_all
from sloguard.slo.model import SLO


class SpecFormat(enum.Enum):
    SLOTH = "sloth"
    OPENSLO = "openslo"
    NATIVE = "native"


def detect_format(docs: list[Any]) -> SpecFormat | None:
    first = next((d for d in docs if isinstance(d, Mapping)), None)
    if first is None:
        return None
    if first.get("version") == _spec_sloth.VERSION or _spec_sloth.is_k8s(first):
        return SpecFormat.SLOTH
    if str(first.get("apiVersion", "")).startswith("openslo/"):
        return SpecFormat.OPENSLO
    if first.get("apiVersion") == _spec_native.API_VERSION:
        return SpecFormat.NATIVE
    return None


def load_text(text: str, source: str) -> tuple[list[SLO], list[Problem]]:
    """Parse one file's text; return the SLOs that are valid and every problem found."""
    r = Reader(source)
    try:
        docs = [d for d in load_yaml_all(text) if d is not None]
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        return [], [Problem(source, "", f"{where}invalid YAML: {getattr(e, 'problem', e)}")]
    fmt = detect_format(docs)
    if fmt is SpecFormat.SLOTH:
        pairs = [p for d in docs for p in _spec_sloth.load_document(r.mapping(d, ""), r)]
    elif fmt is SpecFormat.OPENSLO:
        bad = [d.get("apiVersion") for d in docs if isinstance(d, Mapping) and d.get("apiVersion") != _spec_openslo.API_VERSION]
        if bad:
            r.problem("apiVersion", f"unsupported OpenSLO version {bad[0]!r} (expected {_spec_openslo.API_VERSION})")
        pairs = _spec_openslo.load([d for d in docs if isinstance(d, Mapping)], r)
    elif fmt is SpecFormat.NATIVE:
        pairs = [p for d in docs for p in _spec_native.load(r.mapping(d, ""), r)]
    else:
        r.problem("", "unknown spec format: expected `version: prometheus/v1` (Sloth), "
                  "`apiVersion: openslo/v1` (OpenSLO) or `apiVersion: sloguard/v1` (native)")
        pairs = []
    check_unique(r, pairs)
    bad_paths = {p.path.split(".")[0] for p in r.problems}
    return [s for path, s in pairs if path.split(".")[0] not in bad_paths], r.problems


def load_files(paths: Iterable[str | Path]) -> tuple[list[SLO], list[Problem]]:
    """Load several files; duplicate names across files are problems too."""
    slos: list[SLO] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for path in paths:
        p = Path(path)
        try:
            text = p.read_text()
        except OSError as e:
            problems.append(Problem(str(p), "", f"cannot read file: {e.strerror}"))
            continue
        got, probs = load_text(text, str(p))
        problems.extend(probs)
        for s in got:
            if s.name in seen:
                problems.append(Problem(str(p), "", f"duplicate SLO name {s.name!r} (also in {seen[s.name]})"))
                continue
            seen[s.name] = str(p)
            slos.append(s)
    return slos, problems


def load_or_raise(paths: Iterable[str | Path]) -> list[SLO]:
    slos, problems = load_files(paths)
    if problems:
        raise SpecError(problems)
    return slos


def dump(slos: list[SLO], fmt: SpecFormat) -> list[dict[str, Any]]:
    """The SLOs as ``fmt`` documents; ``slo.convert.convert`` also names what ``fmt`` loses."""
    if fmt is SpecFormat.SLOTH:
        return _spec_sloth.dump(slos)
    if fmt is SpecFormat.OPENSLO:
        return _spec_openslo.dump(slos)
    return [_spec_native.dump(slos)]
