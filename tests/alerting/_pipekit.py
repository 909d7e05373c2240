"""A webhook capture behind ``httpx.MockTransport`` and pipeline builders for the pipeline
and HA tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from sloguard.alerting import parse_config
from sloguard.alerting.marker import Marker
from sloguard.alerting.model import Alert
from sloguard.alerting.pipeline import Pipeline, PipelineDeps, build_pipeline
from sloguard.alerting.receivers import Backoff
from sloguard.alerting.route import RouteOpts
from sloguard.alerting.stages import FlushContext
from sloguard.clock import ManualClock
from sloguard.labels import Labels
from sloguard.state import SqlStateStore
from tests.alerting._stagekit import GROUP_KEY

CONFIG = """
route:
  receiver: team
  group_by: [alertname]
receivers:
  - name: team
    webhook_configs:
      - url: http://hook.test/team
      - url: http://hook.test/quiet
        send_resolved: false
  - name: other
    webhook_configs:
      - url: http://hook.test/other
"""


@dataclass
class Capture:
    """Records every webhook POST as (replica, path, body); answers ``codes[path]`` (200 by
    default); a path in ``hang`` never answers."""

    codes: dict[str, int] = field(default_factory=dict)
    hang: set[str] = field(default_factory=set)
    seen: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def client(self, replica: str = "r1") -> httpx.AsyncClient:
        async def handle(req: httpx.Request) -> httpx.Response:
            self.seen.append((replica, req.url.path, json.loads(req.content)))
            if req.url.path in self.hang:
                await asyncio.Event().wait()
            return httpx.Response(self.codes.get(req.url.path, 200))

        return httpx.AsyncClient(transport=httpx.MockTransport(handle))

    def paths(self) -> list[str]:
        return [p for _, p, _ in self.seen]

    def bodies(self, path: str) -> list[dict[str, Any]]:
        return [b for _, p, b in self.seen if p == path]


def pipeline(store: SqlStateStore, clock: ManualClock, http: httpx.AsyncClient, *, config: str = CONFIG,
             peer: str = "r1", marker: Marker | None = None, firing: Sequence[Alert] = (),
             **kw: Any) -> Pipeline:
    deps = PipelineDeps(store=store, marker=marker or Marker(), firing_alerts=lambda: firing, clock=clock,
                        peer=peer, http=http, backoff=Backoff(0.5, 2.0, 30.0, 5), **kw)
    return build_pipeline(parse_config(config), deps)


def flush(now: int, receiver: str = "team", **route: Any) -> FlushContext:
    opts = RouteOpts(receiver=receiver, group_by=frozenset({"alertname"}), **route)
    return FlushContext(GROUP_KEY, "gid", receiver, Labels.of(alertname="Down"), opts, now)
