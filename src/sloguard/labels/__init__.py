"""Label sets, matchers and Go (RE2, linear-time) regexes, label validation, shared by every package."""

from sloguard.labels._fastregex import fast_matcher
from sloguard.labels._goregexp import GoMatch, GoRegex, GoRegexError, compile_anchored, compile_go
from sloguard.labels._labels import METRIC_NAME, Labels, LabelsBuilder, escape_value
from sloguard.labels._matcher import Matcher, MatchType
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
from sloguard.labels._xxhash import labels_hash, xxh64

__all__ = [
    "labels_hash",
    "xxh64",
    "METRIC_NAME",
    "GoMatch",
    "GoRegex",
    "GoRegexError",
    "InvalidLabelError",
    "Labels",
    "LabelsBuilder",
    "MatchType",
    "Matcher",
    "check_label_name",
    "check_label_value",
    "check_labels",
    "compile_anchored",
    "compile_go",
    "describe_labels",
    "escape_value",
    "fast_matcher",
    "is_valid_label_name",
    "is_valid_metric_name",
    "shorten",
]
