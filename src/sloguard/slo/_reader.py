"""Reading untyped YAML documents while collecting every problem with its key path."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sloguard.slo._durations import DurationError, parse_duration_ms
from sloguard.slo._errors import Problem, Severity
from sloguard.slo.model import ratio_from_percent


@dataclass(frozen=True, slots=True)
class Declared:
    """An SLO's identity as found in a file, whether or not the rest of it is valid, so
    duplicate names are found even among SLOs with other problems."""

    source: str
    path: str
    service: str
    name: str
    name_path: str


class Reader:
    """Typed getters over nested dicts; each failure becomes a ``Problem`` (never raises).

    ``prefix`` (``documents[i].`` in a file of several YAML documents) is put before every
    path the reader reports."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.prefix = ""
        self.problems: list[Problem] = []
        self.declared: list[Declared] = []

    def full(self, path: str) -> str:
        """``path`` with the document prefix, as problems report it."""
        return f"{self.prefix}{path}" if path else self.prefix.rstrip(".")

    def problem(self, path: str, message: str, *, text: str | None = None, line: int | None = None,
                column: int | None = None, severity: Severity = Severity.ERROR) -> None:
        self.problems.append(Problem(self.source, self.full(path), message, text, line, column, severity))

    def warning(self, path: str, message: str) -> None:
        self.problem(path, message, severity=Severity.WARNING)

    def declare(self, path: str, service: str, name: str, name_path: str = "") -> None:
        """Record an SLO (at ``path``) and its name (at ``name_path``, default ``path.name``)
        for the duplicate check."""
        if name:
            self.declared.append(Declared(self.source, self.full(path), service, name,
                                          self.full(name_path or f"{path}.name")))

    def absorb(self, sub: Reader, path: Callable[[str], str] = str, message: Callable[[str], str] = str,
               keep: Callable[[Problem], bool] = lambda p: True) -> None:
        """Take the problems and declared SLOs of a ``sub`` reader (one that read a rewritten
        document), their paths mapped back by ``path`` and put under this reader's prefix."""
        for p in sub.problems:
            if keep(p):
                self.problems.append(replace(p, path=self.full(path(p.path)), message=message(p.message)))
        for d in sub.declared:
            self.declared.append(replace(d, path=self.full(path(d.path)), name_path=self.full(path(d.name_path))))

    def mark(self) -> int:
        return len(self.problems)

    def errors_since(self, mark: int) -> int:
        return sum(1 for p in self.problems[mark:] if p.is_error)

    def mapping(self, d: Any, path: str) -> Mapping[str, Any]:
        if d is None:
            return {}
        if not isinstance(d, Mapping):
            self.problem(path, f"expected a mapping, got {type(d).__name__}")
            return {}
        return d

    def known(self, d: Mapping[str, Any], path: str, allowed: set[str], *, ignored_by: str = "") -> None:
        """Unknown keys are errors, or warnings when the format's own tool (``ignored_by``) skips them."""
        for k in d:
            if k in allowed:
                continue
            expected = f"expected one of {', '.join(sorted(allowed))}"
            if ignored_by:
                hint = _snake(str(k))
                mean = f"; did you mean {hint}?" if hint != k and hint in allowed else ""
                self.warning(_join(path, str(k)), f"unknown field, ignored as {ignored_by} ignores it ({expected}){mean}")
            else:
                self.problem(_join(path, str(k)), f"unknown field ({expected})")

    def str_(self, d: Mapping[str, Any], key: str, path: str, *, required: bool = False, default: str = "") -> str:
        v = d.get(key)
        if v is None or v == "":
            if required:
                self.problem(_join(path, key), "is required")
            return default
        if not isinstance(v, str | int | float) or isinstance(v, bool):
            self.problem(_join(path, key), f"expected a string, got {type(v).__name__}")
            return default
        return str(v)

    def float_(self, d: Mapping[str, Any], key: str, path: str, *, required: bool = False) -> float | None:
        v = d.get(key)
        if v is None:
            if required:
                self.problem(_join(path, key), "is required")
            return None
        if isinstance(v, str) and v.strip().endswith("%"):
            try:
                return ratio_from_percent(float(v.strip()[:-1]))
            except ValueError:
                pass
        if isinstance(v, bool) or not isinstance(v, int | float | str):
            self.problem(_join(path, key), f"expected a number, got {v!r}")
            return None
        try:
            return float(v)
        except ValueError:
            self.problem(_join(path, key), f"expected a number, got {v!r}")
            return None

    def bool_(self, d: Mapping[str, Any], key: str, path: str, default: bool = False) -> bool:
        v = d.get(key, default)
        if not isinstance(v, bool):
            self.problem(_join(path, key), f"expected true or false, got {v!r}")
            return default
        return v

    def duration(self, d: Mapping[str, Any], key: str, path: str, *, required: bool = False) -> int | None:
        v = d.get(key)
        if v is None:
            if required:
                self.problem(_join(path, key), "is required")
            return None
        try:
            return parse_duration_ms(str(v))
        except DurationError as e:
            self.problem(_join(path, key), str(e))
            return None

    def labels(self, d: Mapping[str, Any], key: str, path: str) -> tuple[tuple[str, str], ...]:
        m = self.mapping(d.get(key), _join(path, key))
        out = []
        for k, v in m.items():
            if not isinstance(v, str | int | float) or isinstance(v, bool):
                self.problem(_join(path, f"{key}.{k}"), f"expected a string value, got {v!r}")
                continue
            out.append((str(k), str(v)))
        return tuple(out)

    def list_(self, d: Mapping[str, Any], key: str, path: str) -> list[Any]:
        v = d.get(key)
        if v is None:
            return []
        if not isinstance(v, list):
            self.problem(_join(path, key), f"expected a list, got {type(v).__name__}")
            return []
        return v


def _snake(key: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
