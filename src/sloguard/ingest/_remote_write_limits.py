"""Label limits of the remote-write receiver, named like Prometheus' scrape-config limits.

They are checked once per label set the receiver has not seen before (its label cache
holds only label sets that passed), so cached series cost nothing. Beyond them, the
TSDB refuses label sets its WAL records cannot hold (``sloguard.tsdb._records``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sloguard.labels import METRIC_NAME, InvalidLabelError, shorten

#: Defaults that no real series reaches; ``0`` turns a limit off.
DEFAULT_LABEL_LIMIT = 128
DEFAULT_LABEL_NAME_LENGTH_LIMIT = 1024
DEFAULT_LABEL_VALUE_LENGTH_LIMIT = 64 * 1024
_SHOWN = 50  # characters of a name or value in a message, as Prometheus' %.50s


@dataclass(frozen=True, slots=True)
class LabelLimits:
    """Most labels per series, and most bytes per label name and per label value
    (``0``: no limit of that kind)."""

    label_limit: int = DEFAULT_LABEL_LIMIT
    label_name_length_limit: int = DEFAULT_LABEL_NAME_LENGTH_LIMIT
    label_value_length_limit: int = DEFAULT_LABEL_VALUE_LENGTH_LIMIT

    def check(self, pairs: Sequence[tuple[str, str]], sizes: Sequence[tuple[int, int]]) -> None:
        """Raise ``InvalidLabelError`` (Prometheus' scrape wording) if a limit is exceeded;
        ``sizes`` are the wire lengths in bytes of each pair's name and value."""
        metric = shorten(next((v for n, v in pairs if n == METRIC_NAME), ""), _SHOWN)
        if self.label_limit and len(pairs) > self.label_limit:
            raise InvalidLabelError(
                f"label_limit exceeded (metric: {metric}, number of labels: {len(pairs)}, "
                f"limit: {self.label_limit})"
            )
        name_limit, value_limit = self.label_name_length_limit, self.label_value_length_limit
        for (name, value), (name_len, value_len) in zip(pairs, sizes, strict=True):
            if name_limit and name_len > name_limit:
                raise InvalidLabelError(
                    f"label_name_length_limit exceeded (metric: {metric}, label name: "
                    f"{shorten(name, _SHOWN)}, length: {name_len}, limit: {name_limit})"
                )
            if value_limit and value_len > value_limit:
                raise InvalidLabelError(
                    f"label_value_length_limit exceeded (metric: {metric}, label name: "
                    f"{shorten(name, _SHOWN)}, value: {shorten(value, _SHOWN)!r}, length: {value_len}, "
                    f"limit: {value_limit})"
                )


DEFAULT_LABEL_LIMITS = LabelLimits()
