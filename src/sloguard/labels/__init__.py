"""Label sets, matchers and label validation, shared by every package."""

from sloguard.labels._labels import METRIC_NAME, Labels, LabelsBuilder
from sloguard.labels._matcher import MatchType, Matcher, parse_matchers_text
from sloguard.labels._validate import (
    InvalidLabelError,
    check_label_name,
    check_label_value,
    check_labels,
    is_valid_label_name,
    is_valid_metric_name,
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
    "is_valid_label_name",
    "is_valid_metric_name",
    "parse_matchers_text",
]
