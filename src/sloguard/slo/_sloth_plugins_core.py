"""Sloth's core SLO plugins (``sloth.dev/core/*/v1``), written anew in Python.

``validate``, ``sli_rules``, ``metadata_rules`` and ``alert_rules`` are Sloth's default chain;
``debug`` logs, ``noop`` does nothing. Sloth validates an SLO in its ``validate`` plugin;
sloguard's spec reader already runs the same checks (PromQL dialect) on every SLO it reads,
so the plugin has nothing left to do when the chain runs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from sloguard.slo import _sloth_rules
from sloguard.slo._sloth_plugin_config import BuiltinSpec, get_bool, get_str
from sloguard.slo._sloth_rules import SlothRequest
from sloguard.slo.sloth_plugins import SlothRules

log = logging.getLogger("sloguard.slo.sloth_plugins")


@dataclass(frozen=True, slots=True)
class Noop:
    """``sloth.dev/core/noop/v1`` and ``.../validate/v1``: the rules pass through unchanged."""

    def process(self, req: SlothRequest, rules: SlothRules) -> SlothRules:
        return rules


@dataclass(frozen=True, slots=True)
class Debug:
    """``sloth.dev/core/debug/v1``: logs ``msg`` and, when asked, the request and the rules
    so far, at debug level (``--log-level debug``)."""

    msg: str = ""
    show_result: bool = False
    show_request: bool = False

    def process(self, req: SlothRequest, rules: SlothRules) -> SlothRules:
        if self.msg:
            log.debug("%s", self.msg)
        if self.show_request:
            log.debug("%r", req)
        if self.show_result:
            log.debug("%r", rules)
        return rules


@dataclass(frozen=True, slots=True)
class SLIRules:
    """``sloth.dev/core/sli_rules/v1``: replaces the SLI recordings; ``disableOptimized``
    computes the period's ratio from the SLI queries instead of the 5m recordings."""

    optimized: bool = True

    def process(self, req: SlothRequest, rules: SlothRules) -> SlothRules:
        return replace(rules, sli=tuple(_sloth_rules.sli_rules(req, self.optimized)))


@dataclass(frozen=True, slots=True)
class MetadataRules:
    """``sloth.dev/core/metadata_rules/v1``: replaces the metadata recordings."""

    def process(self, req: SlothRequest, rules: SlothRules) -> SlothRules:
        return replace(rules, meta=tuple(_sloth_rules.meta_rules(req)))


@dataclass(frozen=True, slots=True)
class AlertRules:
    """``sloth.dev/core/alert_rules/v1``: replaces the alerts (page, ticket)."""

    def process(self, req: SlothRequest, rules: SlothRules) -> SlothRules:
        return replace(rules, alerts=tuple(_sloth_rules.alert_rules(req)))


def _debug(cfg: Mapping[str, Any]) -> Debug:
    return Debug(get_str(cfg, "msg"), get_bool(cfg, "result"), get_bool(cfg, "request"))


def _none(_cfg: Mapping[str, Any]) -> Noop:
    return Noop()


VALIDATE = "sloth.dev/core/validate/v1"
SLI_RULES = "sloth.dev/core/sli_rules/v1"
METADATA_RULES = "sloth.dev/core/metadata_rules/v1"
ALERT_RULES = "sloth.dev/core/alert_rules/v1"

SPECS = (
    BuiltinSpec(VALIDATE, frozenset(), _none),
    BuiltinSpec(SLI_RULES, frozenset({"disableOptimized"}),
                lambda cfg: SLIRules(not get_bool(cfg, "disableOptimized"))),
    BuiltinSpec(METADATA_RULES, frozenset(), lambda _cfg: MetadataRules()),
    BuiltinSpec(ALERT_RULES, frozenset(), lambda _cfg: AlertRules()),
    BuiltinSpec("sloth.dev/core/debug/v1", frozenset({"msg", "result", "request"}), _debug),
    BuiltinSpec("sloth.dev/core/noop/v1", frozenset(), _none),
)

#: Sloth's default chain, run unless a chain says ``overridePrevious``.
DEFAULT_CHAIN = (VALIDATE, SLI_RULES, METADATA_RULES, ALERT_RULES)
