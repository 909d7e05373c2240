"""Every PromQL function of Prometheus 2.42 (classic histograms), vectorised over steps.

``FUNCTIONS`` maps a function name to its ``FunctionDef``; the evaluator calls
``FUNCTIONS[name].impl(FuncCall(args, raw_args, steps))``.
"""

from sloguard.promql.functions._registry import FUNCTIONS, FuncCall, FunctionDef, FunctionImpl

__all__ = ["FUNCTIONS", "FuncCall", "FunctionDef", "FunctionImpl"]
