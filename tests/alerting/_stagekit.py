"""What the stage and pipeline tests share: a scripted notifier, flush contexts, alerts, a
SQLite store on the manual clock."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sloguard.alerting.model import Alert
from sloguard.alerting.receivers import NotifyContext, NotifyResult
from sloguard.alerting.route import RouteOpts
from sloguard.alerting.stages import FlushContext
from sloguard.clock import ManualClock
from sloguard.labels import Labels
from sloguard.state import SqlStateStore, open_store

T0 = 1_700_000_000_000
MIN = 60_000
HOUR = 3_600_000
GROUP_KEY = '{}:{alertname="Down"}'


def sqlite_store(tmp_path: Path, clock: ManualClock) -> SqlStateStore:
    return open_store(f"sqlite:///{tmp_path / 'state.db'}", clock=clock.now_ms)


def alert(instance: str, *, ends_at: int | None = None, **labels: str) -> Alert:
    return Alert.of({"alertname": "Down", "instance": instance, **labels}, starts_at=T0 - HOUR, ends_at=ends_at)


def ctx(now: int, *, receiver: str = "team", repeat_ms: int = 4 * HOUR, deadline_ms: int | None = None,
        integration: str = "team/webhook[0]", **route: object) -> FlushContext:
    opts = RouteOpts(receiver=receiver, group_by=frozenset({"alertname"}), repeat_interval_ms=repeat_ms, **route)  # type: ignore[arg-type]
    return FlushContext(GROUP_KEY, "gid", receiver, Labels.of(alertname="Down"), opts, now,
                        integration=integration, deadline_ms=deadline_ms)


@dataclass
class FakeNotifier:
    """Answers each attempt with the next scripted result (then success); records each
    attempt's alerts and the clock's time; ``hang`` makes every attempt wait forever."""

    clock: ManualClock
    results: list[NotifyResult] = field(default_factory=list)
    resolved: bool = True
    hang: bool = False
    calls: list[tuple[int, list[Alert]]] = field(default_factory=list)

    def send_resolved(self) -> bool:
        return self.resolved

    async def notify(self, nctx: NotifyContext, alerts: Sequence[Alert]) -> NotifyResult:
        self.calls.append((self.clock.now_ms(), list(alerts)))
        if self.hang:
            await asyncio.Event().wait()
        return self.results.pop(0) if self.results else NotifyResult.success(200)

    @property
    def times(self) -> list[int]:
        return [t for t, _ in self.calls]


def status(code: int) -> NotifyResult:
    """What a receiver answering ``code`` reports (5xx retryable, 4xx not)."""
    return NotifyResult.failure(f"unexpected status code {code}", code >= 500, code)
