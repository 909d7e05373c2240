"""One call for the server: a :class:`RuleManager` over the storage and engine, rule file
globs resolved like Prometheus (relative to the config file's directory, re-globbed on
every reload), alerts sent to the given Alertmanager URLs."""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Sequence
from typing import Any

from sloguard.clock import Clock
from sloguard.rules._manager import RuleManager
from sloguard.rules._notifier import AlertmanagerNotifier
from sloguard.rules._options import ManagerOptions
from sloguard.rules._rule import QueryFunc, engine_query_func
from sloguard.tsdb import Storage


def expand_rule_files(patterns: Sequence[str], base_dir: str = "") -> list[str]:
    """Glob each pattern (relative ones under ``base_dir``); sorted, duplicates removed."""
    out: list[str] = []
    for p in patterns:
        path = p if os.path.isabs(p) or not base_dir else os.path.join(base_dir, p)
        for f in sorted(glob.glob(path)):
            if f not in out:
                out.append(f)
    return out


def rule_manager_for(
    storage: Storage,
    engine: Any,
    rule_files: Sequence[str],
    base_dir: str = "",
    evaluation_interval_ms: int = 60_000,
    external_labels: dict[str, str] | None = None,
    external_url: str = "",
    alertmanager_urls: Sequence[str] = (),
    clock: Clock | None = None,
    alert_relabel_configs: Sequence[Any] = (),
    resend_delay_ms: int = 60_000,
    outage_tolerance_ms: int = 3_600_000,
    for_grace_period_ms: int = 600_000,
    query: QueryFunc | None = None,
    group_query: Callable[[str, str], QueryFunc | None] | None = None,
) -> RuleManager:
    """Build and load (raises ``RuleFileError`` on a bad file); call ``await m.start()`` to run
    and ``m.reload()`` on SIGHUP / ``POST /-/reload``. ``alert_relabel_configs`` are
    ``sloguard.ingest.relabel.RelabelConfig`` objects applied to alerts before sending; the
    last three are Prometheus' ``--rules.alert.resend-delay``, ``--rules.alert.for-outage-
    tolerance`` and ``--rules.alert.for-grace-period``. ``query`` replaces the query function
    over ``engine`` (the ruler mode reads a remote backend through its own); ``group_query``
    gives a group its own (see ``RuleManager.group_query``)."""
    opts = ManagerOptions(
        query=query or engine_query_func(engine), storage=storage, default_interval_ms=evaluation_interval_ms,
        external_labels=dict(external_labels or {}), external_url=external_url,
        resend_delay_ms=resend_delay_ms, outage_tolerance_ms=outage_tolerance_ms,
        for_grace_period_ms=for_grace_period_ms,
    )
    relabel = None
    if alert_relabel_configs:
        from sloguard.ingest.relabel import relabel as apply_relabel

        configs = list(alert_relabel_configs)
        relabel = lambda ls: apply_relabel(ls, configs)  # noqa: E731 - a one-line closure
    notify = (
        AlertmanagerNotifier(alertmanager_urls, external_labels, external_url, relabel=relabel)
        if alertmanager_urls else None
    )
    m = RuleManager(opts, notify=notify, clock=clock)
    m.group_query = group_query
    m.resolver = lambda: expand_rule_files(rule_files, base_dir)
    m.update(m.resolver(), evaluation_interval_ms)
    return m
