"""Building every dashboard and writing them as Grafana file-provisioning JSON.

``build_all(slos, services)`` gives ``{file name: dashboard JSON}``: the overview, one per
SLO, one per service under rollout. ``export(out, ...)`` checks every query with
sloguard's PromQL parser first and writes nothing if one fails, then writes each file
atomically (a Grafana polling the folder never reads half a file).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard

from sloguard.dashboards._check import check
from sloguard.dashboards._errors import DashboardError
from sloguard.dashboards.overview import overview_dashboard
from sloguard.dashboards.rollout import rollout_dashboard
from sloguard.dashboards.slo import slo_dashboard
from sloguard.slo.model import SLO


def to_json(builder: Builder[Dashboard]) -> dict[str, Any]:
    """The dashboard as Grafana stores it (the SDK's own encoding)."""
    data: dict[str, Any] = json.loads(json.dumps(builder.build(), cls=JSONEncoder))
    return data


def build_all(slos: Sequence[SLO], services: Iterable[str] = ()) -> dict[str, dict[str, Any]]:
    """``{file name: dashboard}``; file names are the dashboards' uids (stable across exports)."""
    boards = [overview_dashboard(slos), *(slo_dashboard(s) for s in slos),
              *(rollout_dashboard(svc) for svc in sorted(set(services)))]
    out: dict[str, dict[str, Any]] = {}
    for b in boards:
        data = to_json(b)
        name = f"{data['uid']}.json"
        if name in out:
            raise DashboardError(f"Two dashboards would be written to {name}: {out[name]['title']!r} and "
                                 f"{data['title']!r} (their names differ only in characters a uid cannot hold).")
        out[name] = data
    return out


def export(out: Path, slos: Sequence[SLO], services: Iterable[str] = ()) -> list[Path]:
    """Write the dashboards into ``out`` (created if missing); the paths written."""
    boards = build_all(slos, services)
    problems = [p for data in boards.values() for p in check(data)]
    if problems:
        raise DashboardError("A dashboard query does not parse; nothing was written:\n  " + "\n  ".join(problems))
    try:
        out.mkdir(parents=True, exist_ok=True)
        return [_write(out / name, data) for name, data in boards.items()]
    except OSError as e:
        raise DashboardError(f"Cannot write the dashboards into {out}: {e.strerror or e}.") from None


def _write(path: Path, data: dict[str, Any]) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
