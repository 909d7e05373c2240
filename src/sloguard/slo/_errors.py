"""Errors of the slo package: every problem names the file and the key path."""

from __future__ import annotations

from dataclasses import dataclass


class SLOError(Exception):
    """Base error of the slo package."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a spec: ``file: path: message``."""

    source: str
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.source}: {self.path}" if self.path else self.source
        return f"{where}: {self.message}"


class SpecError(SLOError):
    """A spec that cannot be used; ``problems`` lists every problem found, not just the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
