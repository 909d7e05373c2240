"""Python equivalents of Sloth's plugins: SLI plugins (``sli.plugin.id``) and SLO plugins
(``slo_plugins``/``plugins`` chains, which rewrite the generated rules).

Sloth runs SLI plugins (Go source loaded by yaegi) that turn ``options`` into a raw
error-ratio query templated with ``{{.window}}``. sloguard cannot run Go; a spec that names
a plugin is refused by its id unless a Python function with the same contract is registered
here, either in code (``register_sli_plugin``) or by an installed package through the
``sloguard.sloth_sli_plugins`` entry-point group (name = the plugin id, value = the function)::

    def plugin(meta: Mapping[str, str], labels: Mapping[str, str], options: Mapping[str, str]) -> str

``meta`` has Sloth's keys ``service``, ``slo`` and ``objective`` (``"99.900000"``), ``labels``
are the spec's top-level labels, ``options`` the plugin's options. A plugin signals bad
options by raising ``SLIPluginError`` with a sentence naming the option.

An SLO plugin (``register_slo_plugin``, or the ``sloguard.sloth_slo_plugins`` entry-point
group) takes its ``config`` (the spec's value, e.g. a mapping), the SLO and the rules
built so far, and returns the rules it wants written (``--compat sloth`` only)::

    def plugin(config: Any, slo: SLO, rules: SlothRules) -> SlothRules

Plugins run by ``priority`` (default 0): below 0 before Sloth's default chain (whose
generators then replace the three rule lists), 0 and above after it. Sloth's own core and
contrib plugins (``sloth.dev/...``) are built in (``_sloth_plugins_core``,
``_sloth_plugins_contrib``); a function registered here under one of their ids replaces it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from sloguard.slo.model import SLO

SLIPlugin = Callable[[Mapping[str, str], Mapping[str, str], Mapping[str, str]], str]
ENTRY_POINT_GROUP = "sloguard.sloth_sli_plugins"
SLO_ENTRY_POINT_GROUP = "sloguard.sloth_slo_plugins"

_registry: dict[str, SLIPlugin] = {}


@dataclass(frozen=True, slots=True)
class SlothRules:
    """One SLO's rules in Sloth's form as its SLO plugins see them (rule mappings with
    ``record``/``alert``, ``expr``, ``for``, ``labels``, ``annotations``); ``extra`` holds whole
    groups. The ``*_interval_ms`` are the three groups' evaluation intervals (0: not written)."""

    sli: tuple[dict[str, Any], ...] = ()
    meta: tuple[dict[str, Any], ...] = ()
    alerts: tuple[dict[str, Any], ...] = ()
    extra: tuple[dict[str, Any], ...] = ()
    sli_interval_ms: int = 0
    meta_interval_ms: int = 0
    alert_interval_ms: int = 0


SLOPlugin = Callable[[Any, SLO, SlothRules], SlothRules]
_slo_registry: dict[str, SLOPlugin] = {}


class SLIPluginError(ValueError):
    """A plugin refused its options; the message names the option and its value."""


def register_sli_plugin(plugin_id: str, fn: SLIPlugin) -> Callable[[], None]:
    """Register ``fn`` for ``plugin_id``; returns a function that removes it again (for tests)."""
    _registry[plugin_id] = fn

    def unregister() -> None:
        if _registry.get(plugin_id) is fn:
            del _registry[plugin_id]

    return unregister


def sli_plugin(plugin_id: str) -> SLIPlugin | None:
    """The registered function for ``plugin_id``, else an installed entry point, else None."""
    if plugin_id in _registry:
        return _registry[plugin_id]
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == plugin_id:
            fn: SLIPlugin = ep.load()
            return fn
    return None


def available() -> list[str]:
    """Ids of every plugin sloguard can run, for error messages."""
    return sorted(set(_registry) | {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)})


def register_slo_plugin(plugin_id: str, fn: SLOPlugin) -> Callable[[], None]:
    """Register an SLO plugin for ``plugin_id``; returns a function that removes it again."""
    _slo_registry[plugin_id] = fn

    def unregister() -> None:
        if _slo_registry.get(plugin_id) is fn:
            del _slo_registry[plugin_id]

    return unregister


def slo_plugin(plugin_id: str) -> SLOPlugin | None:
    """The registered SLO plugin for ``plugin_id``, else an installed entry point, else None."""
    if plugin_id in _slo_registry:
        return _slo_registry[plugin_id]
    for ep in entry_points(group=SLO_ENTRY_POINT_GROUP):
        if ep.name == plugin_id:
            fn: SLOPlugin = ep.load()
            return fn
    return None


def available_slo_plugins() -> list[str]:
    return sorted(set(_slo_registry) | {ep.name for ep in entry_points(group=SLO_ENTRY_POINT_GROUP)})
