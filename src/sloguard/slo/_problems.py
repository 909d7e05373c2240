"""Reporting validation problems: text with the value as written and a caret, or JSON for CI."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sloguard.slo._errors import Problem
from sloguard.slo.model import SLO

#: Characters of a long line shown around the caret.
_WIDTH = 100
_SHOWN_LINES = 5
SPEC_SUFFIXES = (".yaml", ".yml")


def render(p: Problem) -> str:
    """``file:line:column: path: message`` (the position in the file when known), then the
    text as written with a caret under the error's column."""
    where = f"{p.source}:{p.file_line}:{p.file_column}" if p.file_line is not None else p.source
    head = f"{where}: {p.path}: {p.message}" if p.path else f"{where}: {p.message}"
    head = head if p.is_error else f"warning: {head}"
    if p.text is None:
        return head
    lines = p.text.rstrip("\n").split("\n")
    numbered = len(lines) > 1
    if p.line is None or p.column is None:
        shown = [_gutter(i + 1, numbered) + _clip(ln, 0)[0] for i, ln in enumerate(lines[:_SHOWN_LINES])]
        more = ["    ..."] if len(lines) > _SHOWN_LINES else []
        return "\n".join([head, *shown, *more])
    line = lines[min(p.line, len(lines)) - 1]
    text, col = _clip(line, p.column - 1)
    pad = "".join("\t" if c == "\t" else " " for c in text[:col])
    gutter = _gutter(p.line, numbered)
    return "\n".join([head, gutter + text, " " * len(gutter) + pad + "^"])


def _gutter(n: int, numbered: bool) -> str:
    return f"    {n:>3} | " if numbered else "    | "


def _clip(line: str, col: int) -> tuple[str, int]:
    """At most ``_WIDTH`` characters of ``line`` around ``col``, and ``col`` within them."""
    if len(line) <= _WIDTH:
        return line, col
    start = max(0, min(col - _WIDTH // 2, len(line) - _WIDTH))
    lead = "..." if start else ""
    tail = "..." if start + _WIDTH < len(line) else ""
    return f"{lead}{line[start:start + _WIDTH]}{tail}", col - start + len(lead)


def problem_json(p: Problem) -> dict[str, Any]:
    d: dict[str, Any] = {"file": p.source, "path": p.path, "message": p.message}
    if p.text is not None:
        d["text"] = p.text
    if p.line is not None:
        d.update(line=p.line, column=p.column)
    if p.file_line is not None:
        d.update(file_line=p.file_line, file_column=p.file_column)
    return d


def slo_json(slo: SLO) -> dict[str, Any]:
    return {"file": slo.source, "name": slo.name, "service": slo.service, "objective": slo.objective,
            "period": str(slo.period)}


def report_json(files: list[Path], slos: list[SLO], problems: list[Problem]) -> dict[str, Any]:
    """The ``validate --format json`` document: ``valid`` is false exactly when ``problems``
    (errors) is not empty; ``warnings`` do not fail validation."""
    errors = [problem_json(p) for p in problems if p.is_error]
    return {
        "valid": not errors,
        "files": [str(f) for f in files],
        "problems": errors,
        "warnings": [problem_json(p) for p in problems if not p.is_error],
        "slos": [slo_json(s) for s in slos],
    }


def discover(paths: Iterable[Path], include: str | None = None, exclude: str | None = None) -> list[Path]:
    """Files as given, and the ``*.yaml``/``*.yml`` files under directories (recursively,
    sorted), filtered as Sloth's ``--fs-include``/``--fs-exclude`` do: a path matching
    ``exclude`` is dropped, then only paths matching ``include`` are kept."""
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found.extend(sorted(f for f in p.rglob("*") if f.is_file() and f.suffix in SPEC_SUFFIXES))
        else:
            found.append(p)
    if exclude:
        found = [f for f in found if re.search(exclude, str(f)) is None]
    if include:
        found = [f for f in found if re.search(include, str(f)) is not None]
    return found
