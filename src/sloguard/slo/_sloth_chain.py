"""Sloth's SLO plugin chains: which plugins run for an SLO, in which order, around the default
rule generation (Sloth's ``generate`` service, as its specs declare chains)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sloguard.nesting import json_loads
from sloguard.slo import _sloth_builtin, _spec_sloth, sloth_plugins
from sloguard.slo._errors import Problem, SpecError
from sloguard.slo._sloth_plugin_config import PluginConfigError
from sloguard.slo._sloth_plugins_core import DEFAULT_CHAIN
from sloguard.slo._sloth_rules import SlothRequest
from sloguard.slo.sloth_plugins import SlothRules


@dataclass(frozen=True, slots=True)
class PluginCall:
    """One chain entry: a plugin id, its priority (default 0) and its config as written."""

    plugin_id: str
    priority: int = 0
    config: Any = None


@dataclass(frozen=True, slots=True)
class Chain:
    """An SLO's plugins; ``override`` drops Sloth's default rule generation (``overridePrevious``)."""

    calls: tuple[PluginCall, ...] = ()
    override: bool = False


NO_CHAIN = Chain()
_PASSIVE = frozenset({"sloth.dev/core/debug/v1", "sloth.dev/core/noop/v1", "sloth.dev/core/validate/v1"})


def changes_rules(chain: Chain) -> bool:
    """Whether ``chain`` can change the default rules: anything but Sloth's built-in debug,
    noop and validate plugins (a Python plugin registered under one of their ids counts)."""
    return chain.override or any(c.plugin_id not in _PASSIVE or sloth_plugins.slo_plugin(c.plugin_id) is not None
                                 for c in chain.calls)


def _priority(v: Any) -> int:
    """A priority as written; anything but an integer was reported by the spec reader."""
    return v if isinstance(v, int) and not isinstance(v, bool) else 0


def _calls(raw: Any) -> tuple[list[PluginCall], bool]:
    if not isinstance(raw, Mapping):
        return [], False
    calls = [PluginCall(str(c.get("id", "")), _priority(c.get("priority")), c.get("config"))
             for c in raw.get("chain") or [] if isinstance(c, Mapping)]
    return calls, bool(raw.get("overridePrevious"))


def chains_of(doc: Any) -> dict[str, Chain]:
    """SLO name -> its chain, from a ``prometheus/v1`` document or a ``PrometheusServiceLevel``
    (group plugins first, then the SLO's; an SLO's ``overridePrevious`` drops the group's)."""
    k8s = _spec_sloth.is_k8s(doc)
    spec = doc.get("spec") if k8s else doc
    if not isinstance(spec, Mapping):
        return {}
    group, group_override = _calls(spec.get("sloPlugins" if k8s else "slo_plugins"))
    out = {}
    for s in spec.get("slos") or []:
        if not isinstance(s, Mapping):
            continue
        own, own_override = _calls(s.get("plugins"))
        calls = own if own_override else group + own
        if calls or group_override or own_override:
            out[str(s.get("name", ""))] = Chain(tuple(calls), group_override or own_override)
    return out


def run(chain: Chain, req: SlothRequest, app: tuple[PluginCall, ...] = (), defaults: bool = True) -> SlothRules:
    """Sloth's order: the command line's plugins (``app``, unless the chain says
    ``overridePrevious``) and the chain's, stably sorted by priority; those below 0, then
    (unless overridden or ``defaults`` is False) Sloth's default chain (validate, SLI,
    metadata and alert rules), then the rest."""
    calls = sorted([*(() if chain.override else app), *chain.calls], key=lambda c: c.priority)
    rules = _apply([c for c in calls if c.priority < 0], req, SlothRules())
    if defaults and not chain.override:
        rules = _apply([PluginCall(pid) for pid in DEFAULT_CHAIN], req, rules)
    return _apply([c for c in calls if c.priority >= 0], req, rules)


def app_calls(texts: list[str]) -> tuple[PluginCall, ...]:
    """Sloth's ``--slo-plugins`` values (``{"id": ..., "priority": ..., "config": ...}`` JSON),
    checked as chain entries in a spec are; a ``SpecError`` names the flag's index and key."""
    out, problems = [], []
    for i, text in enumerate(texts):
        where = f"--slo-plugins[{i}]"
        try:
            raw = json_loads(text)
        except ValueError as e:
            problems.append(Problem(where, "", f"{text!r} is not JSON: {e}"))
            continue
        if not isinstance(raw, Mapping):
            problems.append(Problem(where, "", f'expected a JSON object {{"id": ..., "priority": ..., "config": ...}}, got {text!r}'))
            continue
        pid = raw.get("id")
        if not isinstance(pid, str) or not (pid in _sloth_builtin.BUILTIN or sloth_plugins.slo_plugin(pid)):
            have = ", ".join(sorted({*sloth_plugins.available_slo_plugins(), *_sloth_builtin.BUILTIN}))
            problems.append(Problem(where, "id", f"Sloth SLO plugin {pid!r} has no sloguard equivalent (available: {have})"))
            continue
        if pid in _sloth_builtin.BUILTIN and sloth_plugins.slo_plugin(pid) is None:
            problems += [Problem(where, f"config.{cp.key}" if cp.key else "config", cp.message)
                         for cp in _sloth_builtin.check(pid, raw.get("config")) if cp.is_error]
        if "priority" in raw and _priority(raw["priority"]) != raw["priority"]:
            problems.append(Problem(where, "priority", f"expected an integer, got {raw['priority']!r}"))
        out.append(PluginCall(pid, _priority(raw.get("priority")), raw.get("config")))
    if problems:
        raise SpecError(problems)
    return tuple(out)


def _apply(calls: list[PluginCall], req: SlothRequest, rules: SlothRules) -> SlothRules:
    """A plugin registered in Python under an id wins over sloguard's built-in of that id."""
    for call in calls:
        fn = sloth_plugins.slo_plugin(call.plugin_id)
        if fn is not None:
            rules = fn(call.config, req.slo, rules)
            continue
        try:
            plugin = _sloth_builtin.make(call.plugin_id, call.config)
        except PluginConfigError as e:
            raise SpecError([Problem(req.slo.source, f"SLO {req.slo.name!r}",
                                     f"Sloth SLO plugin {call.plugin_id!r}: config {e.key}: {e.message}")]) from None
        if plugin is None:
            raise SpecError([Problem(req.slo.source, f"SLO {req.slo.name!r}",
                                     f"Sloth SLO plugin {call.plugin_id!r} has no sloguard equivalent")])
        rules = plugin.process(req, rules)
    return rules
