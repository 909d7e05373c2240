"""Every PromQL function of Prometheus 2.42 (classic histograms), vectorised over steps.

``FUNCTIONS`` maps a function name to its ``FunctionDef``; the evaluator calls
``FUNCTIONS[name].impl(FuncCall(args, raw_args, steps))``.

Importing this package also teaches promql-parser the 2.42 name ``holt_winters`` (the
parser only knows its later name, ``double_exponential_smoothing``).
"""

import promql_parser

from sloguard.promql.functions import (  # noqa: F401  (modules register their functions)
    _histogram,
    _labels,
    _math,
    _misc,
    _over_time,
    _range,
    _time,
)
from sloguard.promql.functions._registry import FUNCTIONS, FuncCall, FunctionDef, FunctionImpl

_V = promql_parser.ValueType
promql_parser.register_extra_functions(
    [promql_parser.Function("holt_winters", [_V.Matrix, _V.Scalar, _V.Scalar], _V.Vector)]
)

__all__ = ["FUNCTIONS", "FuncCall", "FunctionDef", "FunctionImpl"]
