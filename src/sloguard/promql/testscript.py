"""Prometheus' scripted PromQL tests (``.test`` files, v2.42 dialect) and the
series-value notation they share with promtool's ``input_series``.

``expand_series_values("0+10x3 _ stale")`` expands a value sequence; ``parse_series_desc``
splits ``metric{labels} values``.
"""

from sloguard.promql._testscript_notation import (
    NotationError,
    expand_series_values,
    parse_duration_ms,
    parse_number,
    parse_series_desc,
)

__all__ = [
    "NotationError",
    "expand_series_values",
    "parse_duration_ms",
    "parse_number",
    "parse_series_desc",
]
