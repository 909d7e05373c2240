"""Errors of the slo package: every problem names the file and the key path."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class SLOError(Exception):
    """Base error of the slo package."""


class Severity(enum.Enum):
    """An ``ERROR`` makes a spec unusable (validate exits 1); a ``WARNING`` is reported only."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a spec: ``file: path: message``.

    ``path`` is the key path as written in the file (``slos[1].sli.events.error_query``,
    prefixed ``documents[i].`` when the file holds several YAML documents). For a text
    that does not parse (PromQL), ``text`` is that value as written and ``line`` and
    ``column`` (1-based, in characters) point into it. ``file_line`` and ``file_column``
    (1-based) are where the value, or the error inside it, is in the file, when known."""

    source: str
    path: str
    message: str
    text: str | None = None
    line: int | None = None
    column: int | None = None
    severity: Severity = Severity.ERROR
    file_line: int | None = None
    file_column: int | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def __str__(self) -> str:
        where = f"{self.source}: {self.path}" if self.path else self.source
        return f"{where}: {self.message}"


class SpecError(SLOError):
    """A spec that cannot be used; ``problems`` lists every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
