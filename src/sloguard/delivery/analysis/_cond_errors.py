"""The condition language's one error: the condition as written, the column, a sentence."""

from __future__ import annotations

from sloguard.delivery.analysis._errors import AnalysisError


class ConditionError(AnalysisError):
    """A condition that does not parse, or that cannot be evaluated on a result.

    ``text`` is the condition as written, ``column`` the 1-based character where the
    problem is (0 when it concerns the whole condition), ``reason`` a sentence."""

    def __init__(self, text: str, column: int, reason: str) -> None:
        self.text = text
        self.column = column
        self.reason = reason
        where = f" at column {column}" if column else ""
        super().__init__(f"condition {text!r}{where}: {reason}")
