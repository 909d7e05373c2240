"""Errors and problems of an Alertmanager configuration: each names the file and key path."""

from __future__ import annotations

from dataclasses import dataclass


class AlertingConfigError(ValueError):
    """An Alertmanager configuration that Alertmanager 0.25 would refuse.

    ``detail`` is Alertmanager's own error text (``undefined receiver "x" used in route``);
    the message adds the file and the key path (``route.routes[0].receiver``) in front of it.
    Checks that run without a file (``timeinterval``) leave ``file`` empty.
    """

    def __init__(self, file: str, path: str, detail: str) -> None:
        self.file = file
        self.path = path
        self.detail = detail
        where = ": ".join(part for part in (file, path) if part)
        super().__init__(f"{where}: {detail}" if where else detail)


@dataclass(frozen=True, slots=True)
class ConfigProblem:
    """Something Alertmanager accepts but sloguard does not act on (a receiver kind it cannot
    send to); the configuration still loads. ``path`` is the key path, ``message`` a sentence."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.message}"
