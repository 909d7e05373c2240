"""Prometheus-compatible recording and alerting rules, alert state machine, templates."""

from sloguard.rules._check import CheckOutcome, Lint, check_rule_file, check_rules
from sloguard.rules._duration import format_duration_ms, parse_duration_ms
from sloguard.rules._errors import RuleFileError, RulesError
from sloguard.rules._rulefmt import (
    GroupSpec,
    RuleFile,
    RuleSpec,
    find_duplicates,
    load_rule_file,
    parse_rule_text,
)

__all__ = [
    "CheckOutcome",
    "GroupSpec",
    "Lint",
    "RuleFile",
    "RuleFileError",
    "RuleSpec",
    "RulesError",
    "check_rule_file",
    "check_rules",
    "find_duplicates",
    "format_duration_ms",
    "load_rule_file",
    "parse_duration_ms",
    "parse_rule_text",
]
