"""A Python equivalent of Sloth's Go test SLI plugin ``integration_test``
(test/integration/prometheus/plugins/sli/plugin1 in slok/sloth), registered only by tests.

Contract, as Sloth's plugin has it: ``options.job`` is required; the spec's top-level labels
must have non-empty ``owner`` and ``tier``; ``options.filter`` (braces and commas trimmed)
must be ``k="v",`` pairs and is put first in both selectors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from sloguard.slo.sloth_plugins import SLIPluginError

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
