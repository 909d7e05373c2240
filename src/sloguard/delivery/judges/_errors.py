"""The judges' one base exception."""

from __future__ import annotations


class JudgeError(ValueError):
    """Bad input to a judge: settings out of range, an unknown judge name, negative counts,
    a histogram whose buckets are not cumulative. The message names the value and where
    it came from. Not retryable: the same input fails the same way."""
