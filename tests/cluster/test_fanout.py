"""Alerts in a cluster go to every live replica's pipeline, and a replica that joins gets
every rule's last alerts at once (two rules with one expression included)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence

import httpx

from sloguard.api._peers import PeerFanout
from sloguard.labels import Labels
from sloguard.rules import Alert


class FakeCoordinator:
    name = "me"

    def __init__(self) -> None:
        self.others: list[tuple[str, str]] = [("b", "http://b:9090/")]
        self.watchers: list[Callable[[list[tuple[str, str]]], Awaitable[None]]] = []

    def peers(self) -> list[tuple[str, str]]:
        return list(self.others)

    def watch_members(self, watcher: Callable[[list[tuple[str, str]]], Awaitable[None]]) -> None:
        self.watchers.append(watcher)


def _alert(name: str) -> Alert:
    return Alert.new_pending(Labels.from_dict({"alertname": name}), (), 1.0, 1_700_000_000_000)


def _sent(posted: list[tuple[str, list[str]]]) -> list[tuple[str, str]]:
    return sorted((host, name) for host, names in posted for name in names)


def test_alerts_reach_the_peers_and_a_newcomer_gets_every_rules_last_alerts() -> None:
    posted: list[tuple[str, list[str]]] = []
    local: list[list[str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        posted.append((request.url.host, [a["labels"]["alertname"] for a in json.loads(request.content)]))
        return httpx.Response(200)

    async def to_local(expr: str, alerts: Sequence[Alert]) -> None:
        local.append([dict(a.labels)["alertname"] for a in alerts])

    async def go() -> None:
        c = FakeCoordinator()
        fan = PeerFanout(to_local, c)  # type: ignore[arg-type]
        fan.client = fan.remote.client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        await fan("vector(1)", [_alert("A")])
        await fan("vector(1)", [_alert("B")])  # another rule, the same expression
        await fan.remote.flush()
        assert local == [["A"], ["B"]] and _sent(posted) == [("b", "A"), ("b", "B")]
        posted.clear()
        await c.watchers[0]([("me", "http://me:9090/"), ("c", "http://c:9090/")])
        await fan.newcomers.flush()
        assert _sent(posted) == [("c", "A"), ("c", "B")]  # only the newcomer, every rule

    asyncio.run(go())




def test_a_second_newcomer_does_not_take_the_first_ones_alerts() -> None:
    posted: list[tuple[str, list[str]]] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.01)  # the first welcome's send is still going when the second comes
        posted.append((request.url.host, [a["labels"]["alertname"] for a in json.loads(request.content)]))
        return httpx.Response(200)

    async def to_local(expr: str, alerts: Sequence[Alert]) -> None:
        pass

    async def go() -> None:
        c = FakeCoordinator()
        c.others = []
        fan = PeerFanout(to_local, c)  # type: ignore[arg-type]
        fan.client = fan.remote.client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        await fan("vector(1)", [_alert("A")])
        await c.watchers[0]([("c", "http://c:9090/")])
        first = fan.newcomers
        await c.watchers[0]([("d", "http://d:9090/")])
        await first.flush()
        await fan.newcomers.flush()
        assert _sent(posted) == [("c", "A"), ("d", "A")]

    asyncio.run(go())
