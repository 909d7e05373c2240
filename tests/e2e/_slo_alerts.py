"""The SLO side of the policy end-to-end tests: SLO specs whose generated rules are
evaluated on the embedded engine and hand their alerts to a running alerting pipeline
(the server's in-process path), and a webhook receiver on loopback that records what the
pipeline delivers."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sloguard.alerting import parse_config
from sloguard.alerting.core import AlertingCore, CoreOptions
from sloguard.api._alerting_setup import InProcessNotifier
from sloguard.clock import SystemClock
from sloguard.promql.engine import PromQLEngine
from sloguard.rules import ManagerOptions, RuleManager, engine_query_func
from sloguard.slo import rulegen
from sloguard.slo._yaml import dump_yaml
from sloguard.slo.loader import load_text
from sloguard.slo.model import SLO
from sloguard.state import SqlStateStore
from sloguard.tsdb import TSDB

SLOS = """
apiVersion: sloguard/v1
service: checkout
slos:
  - name: checkout-availability
    objective: 99%
    period: 1d
    sli:
      ratio:
        bad: http_requests_total{service="checkout", code=~"5.."}
        total: http_requests_total{service="checkout"}
    alerting:
      page: {for: 1s}
"""


def load_slos(text: str = SLOS) -> list[SLO]:
    found, problems = load_text(text, "slos.yml")
    assert [p for p in problems if p.is_error] == [], problems
    return found


@dataclass
class Hook:
    """A webhook receiver on 127.0.0.1: every POSTed body, parsed, in ``bodies``."""

    bodies: list[dict[str, Any]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    server: asyncio.Server | None = None

    async def start(self) -> Hook:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/hook"

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()

    def alerts(self) -> list[dict[str, Any]]:
        return [a for b in self.bodies for a in b["alerts"]]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = (await reader.readuntil(b"\r\n\r\n")).decode()
                length = next(int(v) for k, _, v in (x.partition(":") for x in head.split("\r\n"))
                              if k.lower() == "content-length")
                self.bodies.append(json.loads(await reader.readexactly(length)))
                self.arrived.set()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def pipeline(store: SqlStateStore, hook_url: str) -> AlertingCore:
    """A started alerting pipeline routing every alert to ``hook_url`` at once."""
    text = f"""
route: {{receiver: team, group_by: [alertname, rollout], group_wait: 0s, group_interval: 1s}}
receivers:
  - name: team
    webhook_configs: [{{url: "{hook_url}"}}]
"""
    core = AlertingCore(parse_config(text), text, store, SystemClock(), CoreOptions("e2e"))
    await core.start()
    return core


class SLORules:
    """The rules generated for ``slos``, evaluated on demand; alerts go to ``core``."""

    def __init__(self, tmp: Path, slos: list[SLO], db: TSDB, engine: PromQLEngine, core: AlertingCore) -> None:
        path = tmp / "slo.rules.yml"
        path.write_text(dump_yaml([rulegen.generate(slos, 1_000)]))
        manager = RuleManager(ManagerOptions(query=engine_query_func(engine), storage=db), use_threads=False)
        self.groups = list(manager.load_groups([str(path)]).values())
        self.notify = InProcessNotifier(lambda: core, {}, "")

    async def evaluate(self, at_ms: int) -> None:
        """Evaluate every group at ``at_ms`` and send what fires, as the server does."""
        for g in self.groups:
            for o in g.eval(at_ms):
                await self.notify(o.expr, o.alerts)
