"""Python equivalents of Sloth's Go test plugins, registered only by tests: the SLI plugin
``integration_test`` (test/integration/prometheus/plugins/sli/plugin1 in slok/sloth) and the
SLO plugin ``integration-tests/plugin1`` (.../plugins/slo/plugin1).

SLI plugin contract, as Sloth's plugin has it: ``options.job`` is required; the spec's top-level labels

Contract, as Sloth's plugin has it: ``options.job`` is required; the spec's top-level labels
must have non-empty ``owner`` and ``tier``; ``options.filter`` (braces and commas trimmed)
must be ``k="v",`` pairs and is put first in both selectors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sloguard.slo.model import SLO
from sloguard.slo.sloth_plugins import SLIPluginError, SlothRules

PLUGIN_ID = "integration_test"
_FILTER = re.compile(r'([^=]+="[^=,"]+",)+')


def integration_test(meta: Mapping[str, str], labels: Mapping[str, str], options: Mapping[str, str]) -> str:
    job = options.get("job")
    if job is None:
        raise SLIPluginError("option 'job' is required")
    for key in ("owner", "tier"):
        if not labels.get(key):
            raise SLIPluginError(f"label {key!r} is required in the spec's labels")
    flt = options.get("filter", "")
    if flt:
        flt = flt.strip("{}").strip(",") + ","
        if not _FILTER.search(flt):
            raise SLIPluginError(f"option 'filter' {flt!r} is not a Prometheus filter")
    return (f'\nsum(rate(integration_test{{ {flt}job="{job}",code=~"(5..|429)" }}[{{{{.window}}}}]))\n'
            f'/\nsum(rate(integration_test{{ {flt}job="{job}" }}[{{{{.window}}}}]))')


SLO_PLUGIN_ID = "integration-tests/plugin1"


def plugin1(config: Any, slo: SLO, rules: SlothRules) -> SlothRules:
    """Sloth's Go test SLO plugin ``integration-tests/plugin1``
    (test/integration/prometheus/plugins/slo/plugin1): merges ``config.labels`` into the
    labels of the ``sloth_slo_info`` recording."""
    extra = dict((config or {}).get("labels") or {})
    meta = tuple({**r, "labels": {**r.get("labels", {}), **extra}} if r.get("record") == "sloth_slo_info" else r
                 for r in rules.meta)
    return replace(rules, meta=meta)
