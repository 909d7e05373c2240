"""Alertmanager 0.25's configuration file, read unchanged and checked with its own verdicts.

``load_config(path)`` / ``parse_config(text, file)`` return a frozen ``AlertmanagerConfig`` or
raise ``AlertingConfigError`` whose message names the file, the key path and Alertmanager's
error text (``alertmanager.yml: route.routes[0].receiver: undefined receiver "x" used in
route``). Checks run in Alertmanager's order, so the first error reported is the one
``amtool check-config`` reports.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from sloguard.alerting._errors import AlertingConfigError, ConfigProblem
from sloguard.alerting._global import GlobalConfig, check_global, parse_global
from sloguard.alerting._http import with_directory
from sloguard.alerting._receivers import Receiver, parse_receiver, resolve_receiver
from sloguard.alerting._routecfg import (
    InhibitRule,
    RouteConfig,
    parse_inhibit_rule,
    parse_route,
    parse_time_interval,
)
from sloguard.alerting._yaml import Node, load_yaml

_TOP_KEYS = ("global", "route", "inhibit_rules", "receivers", "templates", "mute_time_intervals", "time_intervals")

#: A named time interval's raw specs (dicts with times/weekdays/days_of_month/months/years/location).
TimeIntervalSpecs = tuple[Mapping[str, Any], ...]


@dataclass(frozen=True, slots=True)
class AlertmanagerConfig:
    """A loaded, validated Alertmanager configuration.

    Receivers have their ``global`` fallbacks filled in. ``time_intervals`` maps every name
    from ``time_intervals`` and the legacy ``mute_time_intervals`` to its raw specs.
    ``templates`` are the globs as written, relative ones joined to the file's directory.
    ``problems`` lists what loads but sloguard does not act on (unsupported receiver kinds).
    """

    file: str
    global_config: GlobalConfig
    route: RouteConfig
    receivers: tuple[Receiver, ...]
    inhibit_rules: tuple[InhibitRule, ...] = ()
    time_intervals: Mapping[str, TimeIntervalSpecs] = field(default_factory=lambda: MappingProxyType({}))
    templates: tuple[str, ...] = ()
    problems: tuple[ConfigProblem, ...] = ()
    legacy_time_intervals: frozenset[str] = frozenset()  #: names from ``mute_time_intervals``
    base_dir: str = "."  #: the directory relative file names are read from

    def receiver(self, name: str) -> Receiver:
        """The receiver called ``name``; KeyError when there is none."""
        for rcv in self.receivers:
            if rcv.name == name:
                return rcv
        raise KeyError(f"no receiver named {name!r} in {self.file}")

    def template_files(self) -> list[str]:
        """The files the template globs match today, sorted and without duplicates."""
        return sorted({f for pattern in self.templates for f in glob.glob(pattern)})


def load_config(path: str | os.PathLike[str]) -> AlertmanagerConfig:
    """Read and validate an Alertmanager YAML file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise AlertingConfigError(str(p), "", f"cannot read the file: {e}") from None
    return parse_config(text, str(p), base_dir=str(p.parent))


def parse_config(text: str, file: str = "<config>", base_dir: str = ".") -> AlertmanagerConfig:
    """Validate Alertmanager YAML ``text``; ``file`` names it in errors."""
    data = load_yaml(text, file)
    if data is None:
        raise AlertingConfigError(file, "", "no route provided in config")
    top = Node.of(file, "", data, _TOP_KEYS)
    parts = _parse_sections(top)
    cfg = _check(top, parts, base_dir)
    if cfg.route.continue_:
        raise AlertingConfigError(file, "route.continue", "cannot have continue in root route")
    return cfg


def _parse_sections(top: Node) -> dict[str, Any]:
    """Every section decoded (Alertmanager's parse-time errors), in the order written."""
    return {key: _read_section(top, key) for key in top.data}


def _read_section(top: Node, key: str) -> Any:
    f, value = top.file, top.data[key]
    if key == "global":
        return parse_global(Node.of(f, "global", value))
    if key == "route":
        return parse_route(f, "route", value) if value is not None else None
    if key == "inhibit_rules":
        return tuple(parse_inhibit_rule(f, p, x) for p, x in top.items(key))
    if key == "receivers":
        return tuple(parse_receiver(f, p, x) for p, x in top.items(key))
    if key == "templates":
        return top.str_list(key) or ()
    return [parse_time_interval(f, p, x, key == "mute_time_intervals") for p, x in top.items(key)]


def _check(top: Node, parts: dict[str, Any], base_dir: str) -> AlertmanagerConfig:
    f = top.file
    g: GlobalConfig = parts.get("global") or GlobalConfig()
    check_global(top.child("global"), g)
    g = replace(g, http_config=with_directory(g.http_config, base_dir))
    written = tuple(_receiver_files(r, base_dir) for r in parts.get("receivers", ()))
    receivers = _check_receivers(top, written, g)
    route = _check_root(f, parts.get("route"))
    names = {r.name for r in receivers}
    for node in _deepest_first(route):
        if node.receiver is not None and node.receiver not in names:
            raise AlertingConfigError(f, f"{node.path}.receiver", f'undefined receiver "{node.receiver}" used in route')
    intervals = _check_intervals(f, route, parts.get("mute_time_intervals", []), parts.get("time_intervals", []))
    return AlertmanagerConfig(
        file=f, global_config=g, route=route, receivers=receivers,
        inhibit_rules=parts.get("inhibit_rules", ()), time_intervals=MappingProxyType(intervals),
        templates=tuple(t if os.path.isabs(t) else os.path.join(base_dir, t) for t in parts.get("templates", ())),
        problems=_problems(f, receivers),
        legacy_time_intervals=frozenset(name for name, _ in parts.get("mute_time_intervals", [])),
        base_dir=base_dir,
    )


def _receiver_files(rcv: Receiver, base_dir: str) -> Receiver:
    """The receiver's own ``http_config`` file paths joined to the config's directory."""
    def own(configs: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(replace(c, http_config=c.http_config and with_directory(c.http_config, base_dir)) for c in configs)
    return replace(rcv, webhook_configs=own(rcv.webhook_configs), slack_configs=own(rcv.slack_configs),
                   pagerduty_configs=own(rcv.pagerduty_configs))


def _check_receivers(top: Node, receivers: tuple[Receiver, ...], g: GlobalConfig) -> tuple[Receiver, ...]:
    seen: set[str] = set()
    out = []
    for rcv in receivers:
        if rcv.name in seen:
            raise AlertingConfigError(top.file, f"{rcv.path}.name", f'notification config name "{rcv.name}" is not unique')
        out.append(resolve_receiver(rcv, g, Node(top.file, rcv.path, {})))
        seen.add(rcv.name)
    return tuple(out)


def _check_root(file: str, route: RouteConfig | None) -> RouteConfig:
    if route is None:
        raise AlertingConfigError(file, "route", "no routes provided")
    if route.receiver is None:
        raise AlertingConfigError(file, "route.receiver", "root route must specify a default receiver")
    if route.matchers:
        raise AlertingConfigError(file, "route", "root route must not have any matchers")
    if route.mute_time_intervals:
        raise AlertingConfigError(file, "route.mute_time_intervals", "root route must not have any mute time intervals")
    if route.active_time_intervals:
        raise AlertingConfigError(file, "route.active_time_intervals", "root route must not have any active time intervals")
    return route


def _deepest_first(route: RouteConfig) -> list[RouteConfig]:
    """Nodes in the order Alertmanager checks them: children before their parent."""
    out: list[RouteConfig] = []
    for child in route.routes:
        out += _deepest_first(child)
    return out + [route]


def _check_intervals(file: str, route: RouteConfig, legacy: list[Any], current: list[Any]) -> dict[str, TimeIntervalSpecs]:
    named: dict[str, TimeIntervalSpecs] = {}
    for what, entries in (("mute time interval", legacy), ("time interval", current)):
        for i, (name, specs) in enumerate(entries):
            if name in named:
                key = "mute_time_intervals" if what.startswith("mute") else "time_intervals"
                raise AlertingConfigError(file, f"{key}[{i}].name", f'{what} "{name}" is not unique')
            named[name] = tuple(MappingProxyType(s) for s in specs)
    for node in _deepest_first(route):
        for key, used in (("active_time_intervals", node.active_time_intervals), ("mute_time_intervals", node.mute_time_intervals)):
            for name in used:
                if name not in named:
                    raise AlertingConfigError(file, f"{node.path}.{key}", f'undefined time interval "{name}" used in route')
    return named


def _problems(file: str, receivers: tuple[Receiver, ...]) -> tuple[ConfigProblem, ...]:
    return tuple(
        ConfigProblem(file, f"{r.path}.{kind}", f"receiver {r.name!r}: {kind} are not supported by sloguard; "
                      "Alertmanager would send them, sloguard ignores them")
        for r in receivers for kind in r.unsupported
    )
