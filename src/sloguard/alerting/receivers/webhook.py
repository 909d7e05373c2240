"""Webhook receiver: Alertmanager's webhook JSON, version 4.

The body is ``template.Data`` plus ``version``, ``groupKey`` and ``truncatedAlerts``; with
``max_alerts`` set, only the first ``max_alerts`` alerts are sent (the status and common
labels are computed over those), the rest counted in ``truncatedAlerts``. 2xx succeeds,
5xx is retryable, anything else is not.
"""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from typing import Any

import httpx

from sloguard.alerting._receivers import WebhookConfig
from sloguard.alerting.model import Alert
from sloguard.alerting.receivers._base import (
    DEFAULT_TIMEOUT_S,
    NotifyContext,
    NotifyResult,
    post_json,
)
from sloguard.alerting.receivers._webhook_body import webhook_body
from sloguard.alerting.template_data import data_json

__all__ = ["WebhookConfig", "WebhookNotifier", "webhook_message"]

TYPE = "webhook"


def truncate_alerts(max_alerts: int, alerts: Sequence[Alert]) -> tuple[list[Alert], int]:
    """The first ``max_alerts`` alerts (all when 0) and how many were left out."""
    if max_alerts and len(alerts) > max_alerts:
        return list(alerts[:max_alerts]), len(alerts) - max_alerts
    return list(alerts), 0


def webhook_message(ctx: NotifyContext, alerts: Sequence[Alert], max_alerts: int = 0) -> dict[str, Any]:
    """The JSON object Alertmanager posts (keys in its order)."""
    kept, truncated = truncate_alerts(max_alerts, alerts)
    data = data_json(ctx.receiver, ctx.group_labels, kept, ctx.now_ms, ctx.external_url)
    return {**data, "version": "4", "groupKey": ctx.group_key, "truncatedAlerts": truncated}


class WebhookNotifier:
    """Posts :func:`webhook_message` to the configured URL (the config :func:`load_config` reads),
    encoded by :func:`~sloguard.alerting.receivers._webhook_body.webhook_body` (the same bytes
    as ``go_json(webhook_message(...))``, made without the dicts)."""

    def __init__(self, config: WebhookConfig, client: httpx.AsyncClient | None = None,
                 timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self.config = config
        self.client = client or httpx.AsyncClient()
        self.timeout_s = timeout_s

    def send_resolved(self) -> bool:
        return self.config.send_resolved

    def notify(self, ctx: NotifyContext, alerts: Sequence[Alert]) -> Coroutine[Any, Any, NotifyResult]:
        """The POST to await (the body made now: no coroutine of this method's own)."""
        kept, truncated = truncate_alerts(self.config.max_alerts, alerts)
        body = webhook_body(ctx.receiver, ctx.group_key, ctx.group_labels, kept, ctx.now_ms, ctx.external_url,
                            truncated)
        return post_json(self.client, self.config.url.reveal(), body,
                               f"webhook for receiver {ctx.receiver!r}", timeout_s=self.timeout_s)
