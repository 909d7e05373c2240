"""Receiver integrations (one module each): webhook, Slack, PagerDuty, email.

Each module has a ``TYPE`` (the ``*_configs`` key without ``_configs``), a pure payload
builder and a notifier whose ``notify`` makes one attempt and says whether a failure is
retryable. The configs are the ones the config reader makes (``load_config``'s
``receivers[i].webhook_configs`` etc., with Alertmanager's defaults and checks);
:func:`build_notifier` makes the notifier for one of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from sloguard.alerting._email import EmailConfig
from sloguard.alerting._http import HTTPConfig
from sloguard.alerting._httpclient import http_client
from sloguard.alerting._receivers import PagerdutyConfig, WebhookConfig
from sloguard.alerting._slack import SlackConfig
from sloguard.alerting.notify_template import NotificationTemplate
from sloguard.alerting.receivers import email, pagerduty, slack, webhook
from sloguard.alerting.receivers._base import (
    Backoff,
    Notifier,
    NotifyContext,
    NotifyResult,
    notify_with_retry,
)
from sloguard.alerting.receivers.email import EmailNotifier
from sloguard.alerting.receivers.pagerduty import PagerdutyNotifier
from sloguard.alerting.receivers.slack import SlackNotifier
from sloguard.alerting.receivers.webhook import WebhookNotifier

__all__ = [
    "Backoff", "EmailConfig", "EmailNotifier", "Notifier", "NotifyContext", "NotifyResult",
    "PagerdutyConfig", "PagerdutyNotifier", "ReceiverConfig", "SlackConfig", "SlackNotifier",
    "TYPES", "WebhookConfig", "WebhookNotifier", "build_notifier", "notify_with_retry", "shares_client",
]

ReceiverConfig = WebhookConfig | SlackConfig | PagerdutyConfig | EmailConfig

#: Config class by receiver type name (``webhook_configs`` -> ``webhook``).
TYPES: dict[str, type[Any]] = {
    webhook.TYPE: WebhookConfig, slack.TYPE: SlackConfig, pagerduty.TYPE: PagerdutyConfig, email.TYPE: EmailConfig,
}

_Factory = Callable[[Any, NotificationTemplate, httpx.AsyncClient | None], Notifier]
_FACTORIES: dict[type[Any], _Factory] = {
    WebhookConfig: lambda c, t, h: WebhookNotifier(c, h),
    SlackConfig: lambda c, t, h: SlackNotifier(c, t, h),
    PagerdutyConfig: lambda c, t, h: PagerdutyNotifier(c, t, h),
    EmailConfig: lambda c, t, h: EmailNotifier(c, t),
}


def shares_client(config: ReceiverConfig) -> bool:
    """Whether :func:`build_notifier` gives ``config``'s notifier the shared client (an HTTP
    receiver with the default ``http_config``)."""
    http = getattr(config, "http_config", None)
    return isinstance(http, HTTPConfig) and http.is_default()


def build_notifier(config: ReceiverConfig, tmpl: NotificationTemplate,
                   client: httpx.AsyncClient | None = None) -> Notifier:
    """The notifier for ``config``. An HTTP receiver whose ``http_config`` differs from the
    default (authentication, TLS, proxy, redirects) gets its own client honouring it
    (:func:`http_client`); the others share ``client`` when one is given (make it with
    ``http_client(HTTPConfig())`` so it follows redirects, as Alertmanager's default does),
    else get a default one of their own."""
    http = getattr(config, "http_config", None)
    if isinstance(http, HTTPConfig) and (client is None or not shares_client(config)):
        client = http_client(http)
    return _FACTORIES[type(config)](config, tmpl, client)
