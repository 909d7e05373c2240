"""Prometheus-compatible recording and alerting rules (Prometheus 2.42 semantics).

* Rule files: :func:`parse_rule_text` / :func:`load_rule_file` (promtool's validation and
  wording), :func:`check_rules` (``sloguard rules check``).
* Evaluation: a :class:`RuleManager` owns :class:`Group` s; each group runs on its own
  slotted schedule (an injected :class:`Clock`), evaluates its rules in order through a
  ``QueryFunc`` (``engine_query_func(engine)``) and writes their output to a ``Storage``
  (staleness markers included). :class:`AlertingRule` holds the alert state machine
  (:class:`AlertState`, :class:`Alert` transitions), ``ALERTS``/``ALERTS_FOR_STATE``
  series and ``for`` state restoration.
* Alerts leave through a ``NotifyFunc``; :class:`AlertmanagerNotifier` posts them to
  ``/api/v2/alerts`` receivers.
* Templates: :mod:`sloguard.rules.template` (a Go ``text/template`` subset).
* Unit tests: :mod:`sloguard.rules.unittest` (``sloguard test rules``).
* Server wiring: :func:`rule_manager_for`, :class:`RuleManagerCollector` for ``/metrics``,
  ``sloguard.api._rules`` for ``/api/v1/rules``, ``/api/v1/alerts`` and ``/-/reload``.
"""

from sloguard.clock import Clock, ManualClock, SystemClock
from sloguard.durations import format_duration_ms, parse_duration_ms
from sloguard.rules._alert import RESOLVED_RETENTION_MS, Alert, AlertState, Annotations
from sloguard.rules._alerting import (
    ALERT_FOR_STATE_METRIC,
    ALERT_METRIC,
    AlertingRule,
    TemplateContext,
)
from sloguard.rules._check import CheckOutcome, Lint, check_rule_file, check_rules
from sloguard.rules._errors import RuleFileError, RulesError
from sloguard.rules._exprstr import expr_string
from sloguard.rules._group import Group, Outgoing, group_key
from sloguard.rules._manager import RuleManager
from sloguard.rules._metrics import RuleManagerCollector
from sloguard.rules._notifier import AlertmanagerNotifier, PostableAlert, to_postable
from sloguard.rules._options import AlertTiming, ManagerOptions
from sloguard.rules._recording import RecordingRule
from sloguard.rules._rule import (
    NotifyFunc,
    QueryFunc,
    RuleEvalError,
    RuleHealth,
    RuleStatus,
    engine_query_func,
)
from sloguard.rules._rulefmt import (
    GroupSpec,
    RuleFile,
    RuleSpec,
    find_duplicates,
    load_rule_file,
    parse_rule_text,
)
from sloguard.rules._setup import expand_rule_files, rule_manager_for
from sloguard.rules._shard import Ownership, slot_timestamp

__all__ = [
    "ALERT_FOR_STATE_METRIC",
    "ALERT_METRIC",
    "RESOLVED_RETENTION_MS",
    "Alert",
    "AlertState",
    "AlertTiming",
    "AlertmanagerNotifier",
    "PostableAlert",
    "to_postable",
    "AlertingRule",
    "Annotations",
    "Clock",
    "Group",
    "ManagerOptions",
    "ManualClock",
    "NotifyFunc",
    "Ownership",
    "Outgoing",
    "QueryFunc",
    "RecordingRule",
    "RuleEvalError",
    "RuleHealth",
    "RuleManager",
    "RuleManagerCollector",
    "RuleStatus",
    "SystemClock",
    "TemplateContext",
    "engine_query_func",
    "expr_string",
    "expand_rule_files",
    "rule_manager_for",
    "slot_timestamp",
    "group_key",
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
