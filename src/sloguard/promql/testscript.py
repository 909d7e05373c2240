"""Prometheus' scripted PromQL tests (``.test`` files, v2.42 dialect) and the
series-value notation they share with promtool's ``input_series``.

``expand_series_values("0+10x3 _ stale")`` expands a value sequence; ``parse_series_desc``
splits ``metric{labels} values``; ``parse_script`` + ``run_script`` run a ``.test`` file
the way Prometheus' own harness does (see ``shared/conformance/README.md``); the newer
``eval range from <t> to <t> step <d>`` form is read too.
"""

from sloguard.promql._testscript_at import at_modifier_test_cases
from sloguard.promql._testscript_notation import (
    NotationError,
    expand_series_values,
    parse_duration_ms,
    parse_number,
    parse_series_desc,
)
from sloguard.promql._testscript_parse import (
    ClearCmd,
    EvalCmd,
    Expected,
    LoadCmd,
    RangeEvalCmd,
    Script,
    ScriptError,
    parse_script,
)
from sloguard.promql._testscript_run import (
    EngineFactory,
    EvalResult,
    Outcome,
    almost_equal,
    default_engine,
    read_skips,
    run_script,
)

__all__ = [
    "ClearCmd",
    "EngineFactory",
    "EvalCmd",
    "EvalResult",
    "Expected",
    "LoadCmd",
    "NotationError",
    "Outcome",
    "RangeEvalCmd",
    "Script",
    "ScriptError",
    "almost_equal",
    "at_modifier_test_cases",
    "default_engine",
    "expand_series_values",
    "parse_duration_ms",
    "parse_number",
    "parse_script",
    "parse_series_desc",
    "read_skips",
    "run_script",
]
