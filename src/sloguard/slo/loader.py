"""Load SLO spec files in any supported format into the normalised model."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sloguard.slo import (
    _spec_native,
    _spec_openslo,
    _spec_openslo_v1alpha,
    _spec_pyrra,
    _spec_sloth,
)
from sloguard.slo._errors import Problem, SpecError
from sloguard.slo._formats import SpecFormat
from sloguard.slo._locate import locate
from sloguard.slo._reader import Declared, Reader
from sloguard.slo._validate import check_unique
from sloguard.slo._yaml import load_yaml_all
from sloguard.slo.model import SLO


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
    if first.get("apiVersion") == _spec_pyrra.API_VERSION:
        return SpecFormat.PYRRA
    return None


@dataclass(frozen=True, slots=True)
class FileResult:
    """One file read: its valid SLOs with their ``source: path``, every problem, and the
    identity of every SLO found (valid or not) for the duplicate check."""

    slos: list[tuple[str, SLO]]
    problems: list[Problem]
    declared: list[Declared]
    source: str = ""
    text: str = ""


def _parse_yaml(text: str, r: Reader) -> list[Any] | None:
    try:
        return [d for d in load_yaml_all(text) if d is not None]
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        r.problems.append(Problem(r.source, "", f"{where}invalid YAML: {getattr(e, 'problem', e)}",
                                  file_line=mark.line + 1 if mark else None,
                                  file_column=mark.column + 1 if mark else None))
        return None


def _each_document(docs: list[Any], r: Reader, read: Callable[[Mapping[str, Any]], list[tuple[str, SLO]]]) -> list[tuple[str, SLO]]:
    """``read`` every document, paths prefixed ``documents[i].`` when there are several."""
    out = []
    for i, d in enumerate(docs):
        r.prefix = f"documents[{i}]." if len(docs) > 1 else ""
        out.extend(read(r.mapping(d, "")))
    r.prefix = ""
    return out


def _openslo(docs: list[Any], r: Reader) -> list[tuple[str, SLO]]:
    alpha = [d for d in docs if isinstance(d, Mapping) and d.get("apiVersion") == _spec_openslo_v1alpha.API_VERSION]
    if alpha:
        if len(alpha) != len(docs):
            r.problem("", f"mixes {_spec_openslo_v1alpha.API_VERSION} documents with others: put them in separate files")
        return _each_document(alpha, r, lambda d: _spec_openslo_v1alpha.load(d, r))
    bad = [d.get("apiVersion") for d in docs if isinstance(d, Mapping) and d.get("apiVersion") != _spec_openslo.API_VERSION]
    if bad:
        r.problem("apiVersion", f"unsupported OpenSLO version {bad[0]!r} (expected {_spec_openslo.API_VERSION} "
                  f"or {_spec_openslo_v1alpha.API_VERSION})")
    return _spec_openslo.load([d for d in docs if isinstance(d, Mapping)], r)


def read_text(text: str, source: str) -> FileResult:
    """Parse one file's text; every SLO is checked, even after another check failed."""
    r = Reader(source)
    docs = _parse_yaml(text, r)
    if docs is None:
        return FileResult([], r.problems, [])
    fmt = detect_format(docs)
    if fmt is SpecFormat.SLOTH:
        pairs = _each_document(docs, r, lambda d: _spec_sloth.load_document(d, r))
    elif fmt is SpecFormat.OPENSLO:
        pairs = _openslo(docs, r)
    elif fmt is SpecFormat.NATIVE:
        pairs = _each_document(docs, r, lambda d: _spec_native.load(d, r))
    elif fmt is SpecFormat.PYRRA:
        pairs = _spec_pyrra.load_all(docs, r)
    elif any(isinstance(d, Mapping) and d.get("kind") == "AlertWindows" for d in docs):
        r.problem("", "a Sloth AlertWindows document (SLO period windows), not an SLO spec: give its directory to "
                  "`slo rules --slo-period-windows-path DIR`")
        pairs = []
    else:
        r.problem("", "unknown spec format: expected `version: prometheus/v1` (Sloth), "
                  "`apiVersion: openslo/v1` or `openslo/v1alpha` (OpenSLO), `apiVersion: pyrra.dev/v1alpha1` "
                  "(Pyrra) or `apiVersion: sloguard/v1` (native)")
        pairs = []
    problems = locate(text, list(dict.fromkeys(r.problems)))  # a shared SLI document is checked per SLO
    return FileResult([(f"{source}: {path}", s) for path, s in pairs], problems, r.declared, source, text)


def _merge(results: list[FileResult], ignore_duplicates: bool) -> tuple[list[SLO], list[Problem]]:
    problems = [p for res in results for p in res.problems]
    repeats: set[str] = set()
    if not ignore_duplicates:
        dup, repeats = check_unique(d for res in results for d in res.declared)
        texts = {res.source: res.text for res in results}
        problems.extend(q for p in dup for q in locate(texts.get(p.source, ""), [p]))
    return [s for res in results for where, s in res.slos if where not in repeats], problems


def load_text(text: str, source: str, *, ignore_duplicates: bool = False) -> tuple[list[SLO], list[Problem]]:
    """Parse one file's text; return the SLOs that are valid and every problem found
    (errors and warnings: see ``Problem.is_error``)."""
    return _merge([read_text(text, source)], ignore_duplicates)


def read_file(path: str | Path) -> FileResult:
    p = Path(path)
    try:
        text = p.read_text()
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) else f"not UTF-8 text ({e.reason})"
        return FileResult([], [Problem(str(p), "", f"cannot read file: {reason}")], [])
    return read_text(text, str(p))


def load_files(paths: Iterable[str | Path], *, ignore_duplicates: bool = False) -> tuple[list[SLO], list[Problem]]:
    """Load several files; duplicate SLOs across files are problems too (unless
    ``ignore_duplicates``, Sloth's ``--ignore-slo-duplicates``)."""
    return _merge([read_file(p) for p in paths], ignore_duplicates)


def load_or_raise(paths: Iterable[str | Path]) -> list[SLO]:
    slos, problems = load_files(paths)
    if any(p.is_error for p in problems):
        raise SpecError([p for p in problems if p.is_error])
    return slos


def dump(slos: list[SLO], fmt: SpecFormat) -> list[dict[str, Any]]:
    """The SLOs as ``fmt`` documents; ``slo.convert.convert`` also names what ``fmt`` loses."""
    if fmt is SpecFormat.SLOTH:
        return _spec_sloth.dump(slos)
    if fmt is SpecFormat.OPENSLO:
        return _spec_openslo.dump(slos)
    if fmt is SpecFormat.PYRRA:
        return _spec_pyrra.dump(slos)
    return [_spec_native.dump(slos)]
