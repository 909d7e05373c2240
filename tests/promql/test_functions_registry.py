"""The function registry holds exactly Prometheus 2.42's functions (native-histogram ones
answer empty over float data) and the parser accepts the 2.42 name holt_winters."""

from __future__ import annotations

import promql_parser

from sloguard.promql.functions import FUNCTIONS

PROMETHEUS_2_42 = {
    "abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh",
    "avg_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min", "cos", "cosh",
    "count_over_time", "days_in_month", "day_of_month", "day_of_week", "day_of_year", "deg",
    "delta", "deriv", "exp", "floor", "histogram_count", "histogram_fraction",
    "histogram_quantile", "histogram_sum", "holt_winters", "hour", "idelta", "increase",
    "irate", "label_replace", "label_join", "last_over_time", "ln", "log10", "log2",
    "max_over_time", "min_over_time", "minute", "month", "pi", "predict_linear",
    "present_over_time", "quantile_over_time", "rad", "rate", "resets", "round", "scalar",
    "sgn", "sin", "sinh", "sort", "sort_desc", "sqrt", "stddev_over_time", "stdvar_over_time",
    "sum_over_time", "tan", "tanh", "time", "timestamp", "vector", "year",
}


def test_registry_is_exactly_the_2_42_function_set() -> None:
    assert set(FUNCTIONS) == PROMETHEUS_2_42


def test_time_dependent_functions_are_marked() -> None:
    marked = {n for n, f in FUNCTIONS.items() if f.time_dependent}
    assert marked == {"time", "timestamp", "predict_linear", "year", "month", "day_of_month",
                      "day_of_week", "day_of_year", "days_in_month", "hour", "minute"}


def test_metric_name_kept_only_where_prometheus_keeps_it() -> None:
    kept = {n for n, f in FUNCTIONS.items() if not f.drops_metric_name}
    assert kept == {"last_over_time", "label_replace", "label_join", "sort", "sort_desc"}


def test_parser_knows_holt_winters() -> None:
    call = promql_parser.parse("holt_winters(x[5m], 0.5, 0.5)")
    assert call.func.name == "holt_winters"
