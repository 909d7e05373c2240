"""The server's rule evaluation: a ``RuleManager`` over the config's ``rule_files``.

Rule file globs are relative to the config file's directory (as in Prometheus) and are
re-globbed on every reload; a bad rule file at start stops the server with the error, and
on reload keeps the running rules.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from sloguard.api._slo_setup import SLOSetup, with_slos
from sloguard.config import Config
from sloguard.rules import (
    AlertmanagerNotifier,
    AlertTiming,
    NotifyFunc,
    RuleFileError,
    RuleManager,
    RuleManagerCollector,
    expand_rule_files,
    rule_manager_for,
)
from sloguard.tsdb import Storage

log = logging.getLogger("sloguard.server")


class RuleSetupError(Exception):
    """The rule files named by the config cannot be loaded; the message says which and why."""


def _base_dir(config_path: Path | None) -> str:
    return str(config_path.parent) if config_path is not None else ""


async def start_rules(
    config: Config,
    config_path: Path | None,
    storage: Storage,
    engine: Any,
    registry: CollectorRegistry | None,
    external_url: str,
    slos: SLOSetup | None = None,
    in_process: NotifyFunc | None = None,
    slo_rule_files: list[str] | None = None,
    query: Any = None,
    prepare: Callable[[RuleManager], None] | None = None,
    timing: AlertTiming | None = None,
    group_query: Callable[[str, str], Any] | None = None,
) -> RuleManager:
    """Load ``config.rule_files`` (and the rules generated for ``slos``: ``slo_rule_files``
    when the caller already refreshed them) and start evaluating them; alerts go to the
    config's Alertmanagers, else to ``in_process``; ``timing``: the ``--rules.alert.*`` flags.
    Raises ``RuleSetupError``."""
    t = timing or AlertTiming()
    if slo_rule_files is not None:
        extra = slo_rule_files
    else:
        extra = slos.refresh() if slos is not None else []
    try:
        manager = rule_manager_for(
            storage, engine, [*config.rule_files, *extra], base_dir=_base_dir(config_path),
            evaluation_interval_ms=config.global_.evaluation_interval,
            external_labels=dict(config.global_.external_labels), external_url=external_url,
            alertmanager_urls=config.alerting.urls(), query=query, resend_delay_ms=t.resend_delay_ms,
            outage_tolerance_ms=t.outage_tolerance_ms, for_grace_period_ms=t.for_grace_period_ms,
            group_query=group_query,
        )
    except RuleFileError as e:
        raise RuleSetupError(f"cannot load rule files: {e}") from None
    if slos is not None:
        manager.resolver = with_slos(lambda: expand_rule_files(config.rule_files, _base_dir(config_path)), slos)
    if manager.notify is None:
        manager.notify = in_process
    if registry is not None:
        registry.register(RuleManagerCollector(manager))
    if prepare is not None:  # e.g. the cluster's ownership, before any group runs
        prepare(manager)
    await manager.start()
    log.info("evaluating rules", extra={"groups": len(manager.groups()), "rule_files": len(manager.files)})
    return manager


def point_rules(manager: RuleManager, config: Config, config_path: Path | None, slos: SLOSetup | None = None,
                in_process: NotifyFunc | None = None) -> None:
    """Make the manager's next reload read ``config``'s rule files and interval, and send
    alerts to ``config``'s Alertmanagers from now on (to ``in_process`` when it names none)."""
    urls = config.alerting.urls()
    current = manager.notify
    if [u.removesuffix("/api/v2/alerts") for u in getattr(current, "urls", [])] != urls or current is None:
        external_url = getattr(current, "external_url", "")
        labels = dict(config.global_.external_labels)
        manager.notify = AlertmanagerNotifier(urls, labels, external_url) if urls else in_process
    base = _base_dir(config_path)
    patterns = list(config.rule_files)
    manager.resolver = lambda: expand_rule_files(patterns, base)
    if slos is not None:
        slos.patterns = list(config.slo_files)
        slos.interval_ms = config.global_.evaluation_interval
        if config_path is not None:
            slos.base_dir = base
        manager.resolver = with_slos(manager.resolver, slos)
    manager.interval_ms = config.global_.evaluation_interval


def reload_rules(manager: RuleManager) -> bool:
    """Re-read the rule files (re-globbed); keep the running rules on error."""
    try:
        manager.reload()
    except RuleFileError as e:
        log.error("rule reload failed; keeping the running rules", extra={"err": str(e)})
        return False
    return True
