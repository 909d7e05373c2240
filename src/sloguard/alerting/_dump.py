"""``config show``: a loaded configuration written back as Alertmanager 0.25 shows it
(``config.original`` of ``GET /api/v2/status``, ``amtool config show``).

The text is the parsed configuration marshalled again, with every default filled in (the
``global`` block, each integration's templates, the ``http_config`` it inherits) and every
secret as ``<secret>``: SMTP passwords and secrets, Slack API URLs, PagerDuty routing and
service keys, ``basic_auth`` passwords, ``authorization`` credentials (``bearer_token``
included, which shows as ``authorization``), OAuth 2.0 client secrets, proxy CONNECT headers
and the keys of the other receiver kinds. Files named by ``*_file`` settings show their path,
never their content. One deliberate difference from Alertmanager 0.25: webhook URLs show as
``<secret>`` (0.25 prints them, tokens and all; later versions made them secret), unless
``show_webhook_urls`` is set. Receiver kinds sloguard does not send to are shown from
their entries as written (see ``_dump_other``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sloguard.alerting._dump_other import dump_other, slash_path
from sloguard.alerting._email import EmailConfig
from sloguard.alerting._global import GlobalConfig
from sloguard.alerting._goyaml import Flow, FlowMap, GoMap, go_yaml
from sloguard.alerting._http import HTTPConfig, OAuth2Config, TLSConfig
from sloguard.alerting._matchers import format_matcher
from sloguard.alerting._receivers import PagerdutyConfig, Receiver, WebhookConfig
from sloguard.alerting._routecfg import InhibitRule, RouteConfig, WrittenMatchers
from sloguard.alerting._secret import SECRET_TOKEN, Secret
from sloguard.alerting._slack import SlackConfig
from sloguard.alerting.config import AlertmanagerConfig
from sloguard.alerting.timeinterval import InclusiveRange, TimeInterval, parse_time_interval
from sloguard.durations import format_duration_ms

__all__ = ["dump_config"]

_TLS_NUMBERS = {"TLS10": 769, "TLS11": 770, "TLS12": 771, "TLS13": 772}  # 0.25 prints tls.VersionTLS1x
_WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")


def dump_config(cfg: AlertmanagerConfig, *, show_webhook_urls: bool = False) -> str:
    """The YAML Alertmanager 0.25 shows for ``cfg`` (see the module's docstring)."""
    out: dict[str, Any] = {"global": _global(cfg.global_config, _inherited_urls(cfg)), "route": _route(cfg.route)}
    if cfg.inhibit_rules:
        out["inhibit_rules"] = [_inhibit(r) for r in cfg.inhibit_rules]
    if cfg.receivers:
        out["receivers"] = [_receiver(r, show_webhook_urls, cfg) for r in cfg.receivers]
    out["templates"] = [os.path.normpath(t) for t in cfg.templates]
    for key, legacy in (("mute_time_intervals", True), ("time_intervals", False)):
        named = [(n, s) for n, s in cfg.time_intervals.items() if (n in cfg.legacy_time_intervals) == legacy]
        if named:
            out[key] = _named_intervals(named)
    return go_yaml(out)


def _drop_empty(d: dict[str, Any], keep: Sequence[str] = ()) -> dict[str, Any]:
    """yaml.v2's ``omitempty``: leave out "", 0, False, None and empty collections."""
    return {k: v for k, v in d.items() if k in keep or (v is not None and v != "" and v != 0 and v is not False
                                                        and v != [] and v != {})}


def _secret(s: Secret | None) -> str | None:
    return SECRET_TOKEN if s else None


def go_url(text: str) -> str:
    """Go's ``url.URL.String()`` for a URL as written: the scheme in lower case, the rest as is."""
    scheme, sep, rest = text.partition("://")
    return f"{scheme.lower()}{sep}{rest}" if sep else text


def _redacted(text: str) -> str:
    """prometheus/common's ``URL.Redacted``: a password in the URL shows as ``xxxxx``."""
    parts = urlsplit(text)
    if parts.password is None:
        return go_url(text)
    netloc = f"{parts.username}:xxxxx@{parts.netloc.rpartition('@')[2]}"
    return go_url(urlunsplit(parts._replace(netloc=netloc)))


def _hostport(text: str) -> str:
    """Alertmanager 0.25's ``HostPort.String()``: ``host:port``, an IPv6 host without brackets."""
    if not text:
        return ""
    host, _, port = text.rpartition(":")
    return f"{host.removeprefix('[').removesuffix(']')}:{port}"


def _inherited_urls(cfg: AlertmanagerConfig) -> frozenset[str]:
    """The global API URLs some receiver inherits and Alertmanager therefore gives a
    trailing ``/`` in place (it appends to the shared URL, so ``global`` shows it too)."""
    return frozenset(f"{kind.removesuffix('_configs')}_api_url" for r in cfg.receivers for kind, entries in r.other_configs
                     if kind in ("opsgenie_configs", "wechat_configs", "victorops_configs")
                     and any(not e.get("api_url") for e in entries))


def _global(g: GlobalConfig, slashed: frozenset[str] = frozenset()) -> dict[str, Any]:
    out = {
        "resolve_timeout": format_duration_ms(g.resolve_timeout_ms), "http_config": _http(g.http_config),
        "smtp_from": g.smtp_from, "smtp_hello": g.smtp_hello, "smtp_smarthost": _hostport(g.smtp_smarthost),
        "smtp_auth_username": g.smtp_auth_username, "smtp_auth_password": _secret(g.smtp_auth_password),
        "smtp_auth_password_file": g.smtp_auth_password_file, "smtp_auth_secret": _secret(g.smtp_auth_secret),
        "smtp_auth_identity": g.smtp_auth_identity, "smtp_require_tls": g.smtp_require_tls,
        "slack_api_url": _secret(g.slack_api_url), "slack_api_url_file": g.slack_api_url_file,
        "pagerduty_url": go_url(g.pagerduty_url),
    }
    urls, secrets, texts = dict(g.other_urls), dict(g.other_secrets), dict(g.other_texts)
    for kind, keys in (("opsgenie", ("api_url", "api_key", "api_key_file")),
                       ("wechat", ("api_url", "api_secret", "api_corp_id")),
                       ("victorops", ("api_url", "api_key", "api_key_file")), ("telegram", ("api_url",)),
                       ("webex", ("api_url",))):
        for key in (f"{kind}_{k}" for k in keys):
            url = slash_path(urls[key]) if key in slashed else urls.get(key, "")
            out[key] = go_url(url) if key in urls else _secret(secrets.get(key)) or texts.get(key)
    return _drop_empty(out, keep=("resolve_timeout", "smtp_require_tls"))


def _tls(t: TLSConfig) -> dict[str, Any] | None:
    out = _drop_empty({"ca_file": t.ca_file, "cert_file": t.cert_file, "key_file": t.key_file,
                       "server_name": t.server_name, "insecure_skip_verify": t.insecure_skip_verify,
                       "min_version": _TLS_NUMBERS.get(t.min_version), "max_version": _TLS_NUMBERS.get(t.max_version)},
                      keep=("insecure_skip_verify",))
    return None if out == {"insecure_skip_verify": False} else out  # omitempty on an all-zero struct


def _oauth2(o: OAuth2Config) -> dict[str, Any]:
    return _drop_empty({
        "client_id": o.client_id, "client_secret": _secret(o.client_secret), "client_secret_file": o.client_secret_file,
        "scopes": list(o.scopes), "token_url": o.token_url, "endpoint_params": GoMap(o.endpoint_params),
        "proxy_url": _redacted(o.proxy_url) if o.proxy_url else "", "tls_config": _tls(o.tls),
    }, keep=("client_id", "client_secret", "client_secret_file", "token_url"))


def _http(h: HTTPConfig) -> dict[str, Any]:
    basic = None
    if h.has_basic_auth:
        basic = _drop_empty({"username": h.basic_auth_username, "password": _secret(h.basic_auth_password),
                             "password_file": h.basic_auth_password_file}, keep=("username",))
    auth = None
    if h.authorization_type:
        auth = _drop_empty({"type": h.authorization_type, "credentials": _secret(h.authorization_credentials),
                            "credentials_file": h.authorization_credentials_file})
    return _drop_empty({
        "basic_auth": basic, "authorization": auth, "oauth2": h.oauth2 and _oauth2(h.oauth2),
        "proxy_url": _redacted(h.proxy_url) if h.proxy_url else "",
        "proxy_connect_header": GoMap({k: [SECRET_TOKEN for _ in v] for k, v in h.proxy_connect_header}),
        "tls_config": _tls(h.tls), "follow_redirects": h.follow_redirects, "enable_http2": h.enable_http2,
    }, keep=("follow_redirects", "enable_http2"))


def _matchers(prefix: str, w: WrittenMatchers) -> dict[str, Any]:
    return {f"{prefix}match": GoMap(w.match), f"{prefix}match_re": GoMap(w.match_re),
            f"{prefix}matchers": [format_matcher(m) for m in w.matchers]}


def _ms(ms: int | None) -> str | None:
    return None if ms is None else format_duration_ms(ms)


def _route(r: RouteConfig) -> dict[str, Any]:
    group_by = ["..."] if r.group_by_all else list(r.group_by or ())
    return _drop_empty({
        "receiver": r.receiver, "group_by": group_by, **_matchers("", r.written),
        "mute_time_intervals": list(r.mute_time_intervals), "active_time_intervals": list(r.active_time_intervals),
        "continue": r.continue_, "routes": [_route(c) for c in r.routes], "group_wait": _ms(r.group_wait_ms),
        "group_interval": _ms(r.group_interval_ms), "repeat_interval": _ms(r.repeat_interval_ms),
    }, keep=("continue",))


def _inhibit(r: InhibitRule) -> dict[str, Any]:
    return _drop_empty({**_matchers("source_", r.source_written), **_matchers("target_", r.target_written),
                        "equal": list(r.equal)})


def _receiver(r: Receiver, show_webhook_urls: bool, cfg: AlertmanagerConfig) -> dict[str, Any]:
    other = {kind: [dump_other(kind, e, cfg.global_config, cfg.base_dir, _http) for e in entries]
             for kind, entries in r.other_configs}
    return _drop_empty({
        "name": r.name, "discord_configs": other.get("discord_configs"), "email_configs": [_email(e) for e in r.email_configs],
        "pagerduty_configs": [_pagerduty(p) for p in r.pagerduty_configs],
        "slack_configs": [_slack(s) for s in r.slack_configs],
        "webhook_configs": [_webhook(w, show_webhook_urls) for w in r.webhook_configs],
        **{k: other.get(k) for k in _OTHER_ORDER},
    }, keep=("name",))


_OTHER_ORDER = ("opsgenie_configs", "wechat_configs", "pushover_configs", "victorops_configs", "sns_configs",
                "telegram_configs", "webex_configs")


def _own_http(h: HTTPConfig | None) -> dict[str, Any] | None:
    return _http(h) if h is not None else None


def _webhook(w: WebhookConfig, show_url: bool) -> dict[str, Any]:
    return _drop_empty({"send_resolved": w.send_resolved, "http_config": _own_http(w.http_config),
                        "url": go_url(w.url.reveal()) if show_url else SECRET_TOKEN, "max_alerts": w.max_alerts},
                       keep=("send_resolved", "url", "max_alerts"))


def _email(e: EmailConfig) -> dict[str, Any]:
    headers = GoMap(e.headers)
    headers.setdefault("To", e.to)  # what Alertmanager's email notifier adds when it is built
    headers.setdefault("From", e.from_)
    return _drop_empty({
        "send_resolved": e.send_resolved, "to": e.to, "from": e.from_, "hello": e.hello, "smarthost": _hostport(e.smarthost),
        "auth_username": e.auth_username, "auth_password": _secret(e.auth_password),
        "auth_password_file": e.auth_password_file, "auth_secret": _secret(e.auth_secret),
        "auth_identity": e.auth_identity, "headers": headers, "html": e.html, "text": e.text,
        "require_tls": e.require_tls, "tls_config": _tls(e.tls_config or TLSConfig()),
    }, keep=("send_resolved", "require_tls"))


def _pagerduty(p: PagerdutyConfig) -> dict[str, Any]:
    return _drop_empty({
        "send_resolved": p.send_resolved, "http_config": _own_http(p.http_config),
        "service_key": _secret(p.service_key), "service_key_file": p.service_key_file,
        "routing_key": _secret(p.routing_key), "routing_key_file": p.routing_key_file,
        "url": go_url(p.url) if p.url else None, "client": p.client, "client_url": p.client_url,
        "description": p.description, "details": GoMap(p.details),
        "images": [_drop_empty({"src": i.src, "alt": i.alt, "href": i.href}) for i in p.images],
        "links": [_drop_empty({"href": link.href, "text": link.text}) for link in p.links],
        "source": p.source, "severity": p.severity, "class": p.class_, "component": p.component, "group": p.group,
    }, keep=("send_resolved",))


def _slack(s: SlackConfig) -> dict[str, Any]:
    fields = [_drop_empty({"title": f.title, "value": f.value, "short": f.short}, keep=("short",) if f.short is False else ())
              for f in s.fields]
    actions = [_drop_empty({"type": a.type, "text": a.text, "url": a.url, "style": a.style, "name": a.name,
                            "value": a.value, "confirm": a.confirm and _drop_empty({
                                "text": a.confirm.text, "title": a.confirm.title, "ok_text": a.confirm.ok_text,
                                "dismiss_text": a.confirm.dismiss_text})}) for a in s.actions]
    return _drop_empty({
        "send_resolved": s.send_resolved, "http_config": _own_http(s.http_config), "api_url": _secret(s.api_url),
        "api_url_file": s.api_url_file, "channel": s.channel, "username": s.username, "color": s.color,
        "title": s.title, "title_link": s.title_link, "pretext": s.pretext, "text": s.text, "fields": fields,
        "short_fields": s.short_fields, "footer": s.footer, "fallback": s.fallback, "callback_id": s.callback_id,
        "icon_emoji": s.icon_emoji, "icon_url": s.icon_url, "image_url": s.image_url, "thumb_url": s.thumb_url,
        "link_names": s.link_names, "mrkdwn_in": list(s.mrkdwn_in), "actions": actions,
    }, keep=("send_resolved", "short_fields", "link_names"))


def _named_intervals(named: Sequence[tuple[str, Sequence[Mapping[str, Any]]]]) -> list[dict[str, Any]]:
    """The named intervals of one top-level list. yaml.v2 quirk, reproduced: ``location`` is
    a ``flow`` field, and the flow flag a scalar leaves set is taken by the next mapping
    that starts without a struct field in between (the next entry or named interval)."""
    out: list[dict[str, Any]] = []
    pending = False
    for name, specs in named:
        kind: type[dict[str, Any]] = FlowMap if pending else dict
        pending = False
        entries: list[dict[str, Any]] = []
        for spec in specs:
            t = parse_time_interval(dict(spec), "")
            entries.append((FlowMap if pending else dict)(_interval(t)))
            pending = t.location is not None
        out.append(kind({"name": name, "time_intervals": entries}))
    return out


def _ranges(ranges: tuple[InclusiveRange, ...] | None, show: Any = str) -> Flow:
    return Flow(show(r.begin) if r.begin == r.end else f"{show(r.begin)}:{show(r.end)}" for r in ranges or ())


def _interval(t: TimeInterval) -> dict[str, Any]:
    times = [{"start_time": f"{r.start_minute // 60:02d}:{r.start_minute % 60:02d}",
              "end_time": f"{r.end_minute // 60:02d}:{r.end_minute % 60:02d}"} for r in t.times or ()]
    return _drop_empty({
        "times": times, "weekdays": _ranges(t.weekdays, lambda d: _WEEKDAYS[d]), "days_of_month": _ranges(t.days_of_month),
        "months": _ranges(t.months), "years": _ranges(t.years), "location": t.location.name if t.location else None,
    })
