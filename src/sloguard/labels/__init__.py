"""Label sets, matchers (with RE2 regex syntax), label validation, shared by every package."""

from sloguard.labels._labels import METRIC_NAME, Labels, LabelsBuilder, escape_value
from sloguard.labels._matcher import Matcher, MatchType, parse_matchers_text
from sloguard.labels._regex import compile_go_regex, go_regex_to_python
from sloguard.labels._validate import (
    InvalidLabelError,
    check_label_name,
    check_label_value,
    check_labels,
    describe_labels,
    is_valid_label_name,
    is_valid_metric_name,
    shorten,
)

__all__ = [
    "METRIC_NAME",
    "InvalidLabelError",
    "Labels",
    "LabelsBuilder",
    "MatchType",
    "Matcher",
    "check_label_name",
    "check_label_value",
    "check_labels",
    "compile_go_regex",
    "describe_labels",
    "escape_value",
    "go_regex_to_python",
    "is_valid_label_name",
    "is_valid_metric_name",
    "parse_matchers_text",
    "shorten",
]
