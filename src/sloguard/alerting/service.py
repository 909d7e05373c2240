"""What the HTTP API (Alertmanager's v2 endpoints), the UI and the rule evaluator see of the
running alerting pipeline: the :class:`AlertingService` protocol and its views.

``sloguard.alerting.core.AlertingCore`` implements it; tests may use any object with the
same methods. Times are Unix milliseconds, as everywhere in the pipeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sloguard.alerting.config import AlertmanagerConfig
from sloguard.alerting.marker import AlertMark
from sloguard.alerting.model import Alert, LabelsKey, labels_key
from sloguard.labels import Labels
from sloguard.state import AlertHistoryRepository, SilenceRepository

__all__ = ["AlertView", "AlertingService", "GroupView", "Peer", "group_order"]


@dataclass(frozen=True, slots=True)
class AlertView:
    """One alert held by the pipeline, with its mark and the receivers its routes name
    (in routing-tree order, distinct)."""

    alert: Alert
    mark: AlertMark
    receivers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GroupView:
    """One aggregation group: its group labels, receiver, route id and the alerts in it
    (``GET /api/v2/alerts/groups``)."""

    labels: Labels
    receiver: str
    route_id: str
    group_key: str
    alerts: tuple[AlertView, ...]


def group_order(group: GroupView) -> tuple[LabelsKey, str]:
    """``Dispatcher.Groups``' order: by group labels (``LabelSet.Before``), then receiver."""
    return labels_key(group.labels), group.receiver


@dataclass(frozen=True, slots=True)
class Peer:
    """A replica sharing the state store (``GET /api/v2/status`` ``cluster.peers``)."""

    name: str
    address: str


class AlertingService(Protocol):
    """The running pipeline, as its clients use it."""

    @property
    def config(self) -> AlertmanagerConfig:
        """The configuration in force (a reload swaps it whole)."""
        ...

    @property
    def config_text(self) -> str:
        """That configuration as YAML with every secret shown as ``<secret>``
        (``/api/v2/status`` ``config.original``, ``amtool config show``)."""
        ...

    @property
    def silences(self) -> SilenceRepository:
        """The durable silences (a write is committed before it returns)."""
        ...

    @property
    def alert_history(self) -> AlertHistoryRepository:
        """The durable alert history: alerts fired and resolved, silences written."""
        ...

    @property
    def peer_name(self) -> str:
        """This replica's name in ``peers()``."""
        ...

    def receive(self, alerts: Sequence[Alert]) -> None:
        """Take alerts already validated by the caller, as ``POST /api/v2/alerts`` does:
        ``updated_at`` becomes now, a missing start is now (or the end), a missing end is
        now + ``resolve_timeout`` with ``timeout`` set; then merge and dispatch them."""
        ...

    def alerts(self) -> list[AlertView]:
        """Every alert the pipeline holds (resolved ones until they are garbage-collected)."""
        ...

    def held(self) -> list[Alert]:
        """The alerts of :meth:`alerts` without judging them: for readers of labels only."""
        ...

    def view(self, alert: Alert) -> AlertView:
        """One alert as :meth:`alerts` shows it, so a caller can judge many a slice at a time."""
        ...

    def judge(self, alert: Alert) -> AlertMark:
        """Judge one alert's inhibition and silences now (as :meth:`view` does); its mark."""
        ...

    async def groups(self) -> list[GroupView]:
        """Every non-empty aggregation group, sorted as Alertmanager's dispatcher sorts them
        (:func:`group_order`), its alerts in notification order (``sort_alerts``); each alert
        with its mark as last judged (:meth:`judge` them
        first for marks as of now). Listed a slice per step of the event loop."""
        ...

    def peers(self) -> list[Peer]:
        """The live replicas sharing the state store (just this one without HA)."""
        ...

    def now_ms(self) -> int:
        """The pipeline's clock."""
        ...
