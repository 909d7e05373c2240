"""The data notification templates and webhook bodies see (Alertmanager's ``template.Data``).

Go field and method names are kept (``.Receiver``, ``.Alerts.Firing``,
``.CommonLabels.SortedPairs``...) so users' Alertmanager templates run unchanged: the
template engine calls the methods listed in a type's ``GO_METHODS``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sloguard.alerting._gotime import ZERO_TIME_NS, AlertTime
from sloguard.alerting.model import Alert, AlertStatus, go_time_rfc3339
from sloguard.rules.template import go_sprint

__all__ = [
    "KV", "Data", "Pair", "Pairs", "TemplateAlert", "TemplateAlerts", "build_data", "data_json", "go_map",
    "quote_meta",
]

_ALERTNAME = "alertname"


@dataclass(frozen=True, slots=True)
class Pair:
    """A key/value string pair (``template.Pair``)."""

    Name: str
    Value: str

    GO_TYPE: ClassVar[str] = "template.Pair"

    def __str__(self) -> str:
        """Go's ``%v`` of a struct: ``{alertname DiskFull}``."""
        return f"{{{self.Name} {self.Value}}}"


class Pairs(list[Pair]):
    """A list of pairs with ``.Names`` and ``.Values`` (``template.Pairs``)."""

    GO_TYPE: ClassVar[str] = "template.Pairs"
    GO_METHODS: ClassVar[dict[str, str]] = {"Names": "names", "Values": "values"}

    def names(self) -> list[str]:
        return [p.Name for p in self]

    def values(self) -> list[str]:
        return [p.Value for p in self]


class KV(dict[str, str]):
    """A label or annotation map with Alertmanager's helpers (``template.KV``)."""

    GO_TYPE: ClassVar[str] = "template.KV"
    GO_METHODS: ClassVar[dict[str, str]] = {
        "SortedPairs": "sorted_pairs", "Remove": "remove", "Names": "go_names", "Values": "go_values",
    }

    def sorted_pairs(self) -> Pairs:
        """Pairs sorted by name, except that ``alertname`` always comes first."""
        keys = sorted(k for k in self if k != _ALERTNAME)
        if _ALERTNAME in self:
            keys.insert(0, _ALERTNAME)
        return Pairs(Pair(k, self[k]) for k in keys)

    def remove(self, keys: Iterable[str]) -> KV:
        """A copy without ``keys``."""
        drop = set(keys)
        return KV((k, v) for k, v in self.items() if k not in drop)

    def go_names(self) -> list[str]:
        """The names in :meth:`sorted_pairs` order (Go's ``KV.Names``)."""
        return self.sorted_pairs().names()

    def go_values(self) -> list[str]:
        """The values in :meth:`sorted_pairs` order (Go's ``KV.Values``)."""
        return self.sorted_pairs().values()


@dataclass(frozen=True, slots=True)
class TemplateAlert:
    """One alert in a notification (``template.Alert``); ``EndsAt`` is Go's zero time while
    the alert fires."""

    Status: str
    Labels: KV
    Annotations: KV
    StartsAt: AlertTime
    EndsAt: AlertTime
    GeneratorURL: str
    Fingerprint: str
    #: The same times in Unix ms, for encoders (``None``: Go's zero time).
    starts_at_ms: int = field(default=0, repr=False)
    ends_at_ms: int | None = field(default=None, repr=False)

    GO_TYPE: ClassVar[str] = "template.Alert"

    def __str__(self) -> str:
        """Go's ``%v`` of the struct (its seven fields)."""
        parts = (self.Status, go_sprint(self.Labels), go_sprint(self.Annotations), str(self.StartsAt),
                 str(self.EndsAt), self.GeneratorURL, self.Fingerprint)
        return "{" + " ".join(parts) + "}"


class TemplateAlerts(list[TemplateAlert]):
    """The alerts of a notification with ``.Firing`` and ``.Resolved`` (``template.Alerts``)."""

    GO_TYPE: ClassVar[str] = "template.Alerts"
    GO_METHODS: ClassVar[dict[str, str]] = {"Firing": "firing", "Resolved": "resolved"}

    def firing(self) -> list[TemplateAlert]:
        return [a for a in self if a.Status == AlertStatus.FIRING.value]

    def resolved(self) -> list[TemplateAlert]:
        return [a for a in self if a.Status == AlertStatus.RESOLVED.value]


@dataclass(frozen=True, slots=True)
class Data:
    """What a notification's templates see, and the body of a webhook (``template.Data``)."""

    Receiver: str
    Status: str
    Alerts: TemplateAlerts
    GroupLabels: KV
    CommonLabels: KV
    CommonAnnotations: KV
    ExternalURL: str

    GO_TYPE: ClassVar[str] = "*template.Data"

    def to_json(self) -> dict[str, Any]:
        """The JSON object Alertmanager encodes (field order as Go's struct)."""
        return {
            "receiver": self.Receiver,
            "status": self.Status,
            "alerts": [_alert_json(a) for a in self.Alerts],
            "groupLabels": go_map(self.GroupLabels),
            "commonLabels": go_map(self.CommonLabels),
            "commonAnnotations": go_map(self.CommonAnnotations),
            "externalURL": self.ExternalURL,
        }


def go_map(m: Mapping[str, str]) -> dict[str, str]:
    """A map as Go's JSON encoder writes it: keys sorted."""
    return dict(sorted(m.items()))


def _alert_json(a: TemplateAlert) -> dict[str, Any]:
    return {
        "status": a.Status,
        "labels": go_map(a.Labels),
        "annotations": go_map(a.Annotations),
        "startsAt": go_time_rfc3339(a.starts_at_ms),
        "endsAt": go_time_rfc3339(a.ends_at_ms),
        "generatorURL": a.GeneratorURL,
        "fingerprint": a.Fingerprint,
    }


_META = re.compile(r"([\\.+*?()|\[\]{}^$])")


@functools.lru_cache(maxsize=1024)
def quote_meta(s: str) -> str:
    """Go's ``regexp.QuoteMeta`` (Alertmanager puts the receiver name through it)."""
    return _META.sub(r"\\\1", s)


def _template_alert(a: Alert, now_ms: int) -> TemplateAlert:
    status = a.status_at(now_ms)
    # A firing alert's end is not exposed (Alertmanager's types.Alerts).
    ends = a.ends_at if status is AlertStatus.RESOLVED else None
    return TemplateAlert(
        status.value, KV(a.labels), KV(a.annotations), AlertTime(a.starts_at * 1_000_000),
        AlertTime(ZERO_TIME_NS if ends is None else ends * 1_000_000), a.generator_url, a.fingerprint_hex,
        a.starts_at, ends,
    )


def _common(maps: Sequence[Mapping[str, str]]) -> KV:
    if not maps:
        return KV()
    common = dict(maps[0])
    for m in maps[1:]:
        common = {k: v for k, v in common.items() if m.get(k) == v}
    return KV(common)


def build_data(receiver: str, group_labels: Iterable[tuple[str, str]], alerts: Sequence[Alert],
               now_ms: int, external_url: str = "") -> Data:
    """``Template.Data``: the status is firing when any alert fires at ``now_ms``; common
    labels and annotations are those every alert shares with the same value."""
    items = TemplateAlerts(_template_alert(a, now_ms) for a in alerts)
    status = AlertStatus.FIRING if any(a.Status == "firing" for a in items) else AlertStatus.RESOLVED
    return Data(
        Receiver=quote_meta(receiver),
        Status=status.value,
        Alerts=items,
        GroupLabels=KV(group_labels),
        CommonLabels=_common([dict(a.labels) for a in alerts]),
        CommonAnnotations=_common([dict(a.annotations) for a in alerts]),
        ExternalURL=external_url,
    )


def data_json(receiver: str, group_labels: Iterable[tuple[str, str]], alerts: Sequence[Alert],
              now_ms: int, external_url: str = "") -> dict[str, Any]:
    """``build_data(...).to_json()`` made directly from the alerts (no template objects in
    between: the webhook needs only the JSON, once per notification)."""
    items = []
    firing = False
    for a in alerts:
        resolved = a.resolved_at(now_ms)
        firing = firing or not resolved
        items.append({
            "status": "resolved" if resolved else "firing",
            "labels": go_map(dict(a.labels)),
            "annotations": go_map(dict(a.annotations)),
            "startsAt": go_time_rfc3339(a.starts_at),
            "endsAt": go_time_rfc3339(a.ends_at if resolved else None),
            "generatorURL": a.generator_url,
            "fingerprint": a.fingerprint_hex,
        })
    return {
        "receiver": quote_meta(receiver),
        "status": "firing" if firing else "resolved",
        "alerts": items,
        "groupLabels": go_map(dict(group_labels)),
        "commonLabels": go_map(_common([dict(a.labels) for a in alerts])),
        "commonAnnotations": go_map(_common([dict(a.annotations) for a in alerts])),
        "externalURL": external_url,
    }
