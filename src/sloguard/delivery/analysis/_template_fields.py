"""Reading one field of an Argo template: argument substitution, durations, integers.

A ``Reader`` collects problems (every one with its key path) instead of stopping at the
first. ``text`` substitutes ``{{args.NAME}}``; when an argument's value is only known at
use (``deferred``), the field's own checks wait for ``instantiate``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from sloguard.delivery.analysis._cond_errors import ConditionError
from sloguard.delivery.analysis._errors import AnalysisError

_TAG = re.compile(r"\{\{(.*?)\}\}", re.S)
_GO_DURATION = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")
_GO_UNIT_MS = {"ns": 1e-6, "us": 1e-3, "µs": 1e-3, "μs": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}
T = TypeVar("T")
DEFERRED = object()  # a value that depends on an argument supplied at use


@dataclass(frozen=True, slots=True)
class TemplateProblem:
    """One thing wrong with a template: ``source: key.path: message``."""

    source: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}: {self.path}" if self.path else self.source
        return f"{where}: {self.message}"


class TemplateError(AnalysisError):
    """A template that cannot be used; ``problems`` lists every problem found."""

    def __init__(self, problems: list[TemplateProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def parse_go_duration_ms(text: str) -> int:
    """Go's ``time.ParseDuration`` (``30s``, ``1m30s``, ``1.5h``, ``500ms``) in whole ms;
    ``ValueError`` in Go's words otherwise."""
    s = text.strip()
    if s in ("0", "+0", "-0"):
        return 0
    sign = -1 if s.startswith("-") else 1
    body = s.lstrip("+-")
    pos, total = 0, 0.0
    while pos < len(body):
        m = _GO_DURATION.match(body, pos)
        if not m or m.group(1) in ("", "."):
            raise ValueError(f'time: invalid duration "{text}"')
        total += float(m.group(1)) * _GO_UNIT_MS[m.group(2)]
        pos = m.end()
    if not body:
        raise ValueError(f'time: invalid duration "{text}"')
    return sign * round(total)


@dataclass
class Reader:
    """Reads fields for one template; ``args`` maps names to values (None: given at use)."""

    source: str
    args: Mapping[str, str | None]
    problems: list[TemplateProblem] = field(default_factory=list)
    #: The server's named query backends (``query_backends``) a metric may name; None: not
    #: known here (checked when the provider is made).
    backends: frozenset[str] | None = None

    def problem(self, path: str, message: str) -> None:
        self.problems.append(TemplateProblem(self.source, path, message))

    def substitute(self, path: str, raw: str) -> str | object:
        """``raw`` with its ``{{args.NAME}}`` replaced; ``DEFERRED`` when a value is given at use."""
        deferred = False

        def one(m: re.Match[str]) -> str:
            nonlocal deferred
            tag = m.group(1).strip()
            name = tag[5:] if tag.startswith("args.") else None
            if name is None or name not in self.args:
                what = f"the argument {name!r} is not declared in spec.args" if name else "only {{args.NAME}} can be substituted"
                self.problem(path, f"cannot resolve {m.group(0)}: {what}")
                return ""
            value = self.args[name]
            if value is None:
                deferred = True
                return ""
            return value

        out = _TAG.sub(one, raw)
        return DEFERRED if deferred else out

    def text(self, node: Mapping[str, object], key: str, path: str, required: bool = False) -> str | object | None:
        """A string field (numbers and bools are read as YAML wrote them), substituted."""
        if key not in node or node[key] is None:
            if required:
                self.problem(path, "is required")
            return None
        value = node[key]
        if isinstance(value, bool):
            value = "true" if value else "false"
        if not isinstance(value, str | int | float):
            self.problem(path, f"must be a string, not {type(value).__name__}")
            return None
        return self.substitute(path, str(value))

    def compiled(self, node: Mapping[str, object], key: str, path: str, compile_: Callable[[str], T],
                 required: bool = False) -> T | None | object:
        """A text field compiled by ``compile_`` (a condition, a time expression); its
        ``ConditionError`` becomes a problem at ``path``. Blank text is no value."""
        text = self.text(node, key, path, required)
        if text is None or text is DEFERRED:
            return text
        if not str(text).strip():
            if required:
                self.problem(path, "is required")
            return None
        try:
            return compile_(str(text))
        except ConditionError as e:
            self.problem(path, str(e))
            return None

    def duration_ms(self, node: Mapping[str, object], key: str, path: str) -> int | None | object:
        raw = self.text(node, key, path)
        if raw is None or raw is DEFERRED:
            return raw
        try:
            ms = parse_go_duration_ms(str(raw))
        except ValueError as e:
            self.problem(path, f"{raw!r} is not a duration such as 30s, 5m or 1h30m ({e})")
            return None
        if ms < 0:
            self.problem(path, f"{raw!r} is negative")
            return None
        return ms

    def integer(self, node: Mapping[str, object], key: str, path: str, minimum: int) -> int | None | object:
        """An int or a string holding one (Kubernetes' IntOrString), at least ``minimum``."""
        raw = self.text(node, key, path)
        if raw is None or raw is DEFERRED:
            return raw
        try:
            n = int(str(raw).strip())
        except ValueError:
            self.problem(path, f"{raw!r} is not an integer")
            return None
        if n < minimum:
            self.problem(path, f"{n} is below the minimum {minimum}")
            return None
        return n

    def boolean(self, node: Mapping[str, object], key: str, path: str) -> bool:
        value = node.get(key, False)
        if not isinstance(value, bool):
            self.problem(path, f"must be true or false, not {value!r}")
            return False
        return value

    def keys(self, node: Mapping[str, object], path: str, known: set[str], unsupported: Mapping[str, str]) -> None:
        """Report keys sloguard does not read: Argo's own (``unsupported``, with why) and unknown ones."""
        for key in node:
            where = f"{path}.{key}" if path else str(key)
            if key in unsupported:
                self.problem(where, f"is not supported by sloguard: {unsupported[key]}")
            elif key not in known:
                self.problem(where, "is not a field of Argo Rollouts' AnalysisTemplate")
