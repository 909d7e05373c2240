"""The rules package's one base exception."""

from __future__ import annotations


class RulesError(Exception):
    """Base error of ``sloguard.rules``: a rule file, template or evaluation problem."""


class RuleFileError(RulesError):
    """A rule file that cannot be loaded; ``errors`` holds every problem, each naming
    the file (and where known the group, rule index and line) like promtool does."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors
