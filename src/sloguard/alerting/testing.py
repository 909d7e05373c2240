"""An in-memory :class:`~sloguard.alerting.service.AlertingService` for tests of its clients
(the HTTP API, the UI): no dispatcher, no notifications.

Alerts are kept by fingerprint as ``receive`` stores them (with Alertmanager's defaults for
missing times); their receivers come from the config's routing tree; their marks from a
real :class:`~sloguard.alerting.marker.Marker` the test sets. Silences are a real
:class:`~sloguard.state.SilenceRepository` (SQLite in a file the caller names, on the fake's
clock). Groups are whatever the test puts in ``group_views``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from sloguard.alerting.config import AlertmanagerConfig, parse_config
from sloguard.alerting.marker import AlertMark, Marker
from sloguard.alerting.model import Alert, sort_alerts
from sloguard.alerting.route import Route, build_route
from sloguard.alerting.service import AlertView, GroupView, Peer, group_order
from sloguard.clock import Clock
from sloguard.state import AlertHistoryRepository, SilenceRepository, SqlStateStore, open_store

__all__ = ["FakeAlerting"]


class FakeAlerting:
    """An ``AlertingService`` over plain attributes; ``close()`` closes its state store."""

    def __init__(self, config_text: str, state_file: Path, clock: Clock, peer_name: str = "sloguard-0") -> None:
        self.clock = clock
        self.marker = Marker()
        self.group_views: list[GroupView] = []
        self.peer_list: list[Peer] = [Peer(peer_name, "127.0.0.1:0")]
        self.received: list[Alert] = []
        self._config = parse_config(config_text, file="<fake>")
        self._config_text = config_text
        self._route: Route = build_route(self._config.route)
        self._peer_name = peer_name
        self._alerts: dict[int, Alert] = {}
        self._store: SqlStateStore = open_store(f"sqlite:///{state_file}", clock=clock.now_ms)

    @property
    def config(self) -> AlertmanagerConfig:
        return self._config

    @property
    def config_text(self) -> str:
        return self._config_text

    @property
    def silences(self) -> SilenceRepository:
        return self._store.silences

    @property
    def alert_history(self) -> AlertHistoryRepository:
        return self._store.alert_history

    @property
    def peer_name(self) -> str:
        return self._peer_name

    def receive(self, alerts: Sequence[Alert]) -> None:
        """Alertmanager's defaults, then keep the newest alert per fingerprint."""
        now = self.clock.now_ms()
        timeout = self._config.global_config.resolve_timeout_ms
        for a in alerts:
            starts = a.starts_at or (a.ends_at if a.ends_at is not None else now)
            stored = replace(a, updated_at=now, starts_at=starts, ends_at=a.ends_at, timeout=a.ends_at is None)
            if a.ends_at is None:
                stored = replace(stored, ends_at=now + timeout)
            self.received.append(stored)
            self._alerts[stored.fingerprint] = stored

    def alerts(self) -> list[AlertView]:
        return [self.view(a) for a in self.held()]

    def held(self) -> list[Alert]:
        return list(self._alerts.values())

    def view(self, alert: Alert) -> AlertView:
        return AlertView(alert, self.judge(alert), self.receivers_of(alert))

    def judge(self, alert: Alert) -> AlertMark:
        return self.marker.status(alert.fingerprint)

    def receivers_of(self, alert: Alert) -> tuple[str, ...]:
        """The receivers of the routes the alert matches, in tree order, distinct."""
        names = [r.opts.receiver for r in self._route.match(alert.labels.to_dict())]
        return tuple(dict.fromkeys(names))

    async def groups(self) -> list[GroupView]:
        """``group_views`` in the dispatcher's order, each group's alerts in notification order."""
        return sorted((replace(g, alerts=_in_notification_order(g.alerts)) for g in self.group_views), key=group_order)

    def peers(self) -> list[Peer]:
        return list(self.peer_list)

    def now_ms(self) -> int:
        return self.clock.now_ms()

    def close(self) -> None:
        self._store.close()


def _in_notification_order(views: tuple[AlertView, ...]) -> tuple[AlertView, ...]:
    by_alert = {id(v.alert): v for v in views}
    return tuple(by_alert[id(a)] for a in sort_alerts([v.alert for v in views]))
