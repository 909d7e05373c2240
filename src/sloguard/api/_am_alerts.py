"""Alertmanager v2 alerts: ``POST /api/v2/alerts``, ``GET /api/v2/alerts``, ``GET /api/v2/alerts/groups``.

POST reads Alertmanager's postable alerts in its three steps and with its answers: decode
(400, Go's decoding error), schema (422, the first missing ``labels`` or non-URI
``generatorURL``), then each alert's own validation after the defaults for missing times
are applied: the valid alerts are taken even when others are not, then 400 with every
refusal joined by ``"; "`` (``at least one label pair required``, ``invalid label set:
invalid name "0x"``, ``start time must be before end time``, ...).
"""

from __future__ import annotations

import functools
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from sloguard.alerting.marker import AlertMark
from sloguard.alerting.model import Alert, fingerprints
from sloguard.alerting.service import AlertingService
from sloguard.api._am_body import (
    check_fields,
    field,
    is_request_uri,
    parse_failure,
    read_json,
    string_map,
    string_map_error,
    type_error,
)
from sloguard.api._am_groups import alert_filter_of, groups_text
from sloguard.api._am_http import (
    AmError,
    am_error,
    am_route,
    go_array_text,
    go_json_text,
    in_slices,
    needs_alerting,
    swagger_error,
)
from sloguard.api._am_time import GO_ZERO_MS, DateTimeError, format_datetime, parse_datetime
from sloguard.gofmt import go_quote
from sloguard.labels import Labels, is_valid_label_name

__all__ = ["alert_json", "routes"]

#: The largest body ``POST /api/v2/alerts`` and ``POST /api/v2/silences`` read
#: (``ctx.settings["alerting_max_body_bytes"]`` overrides it): about 150,000 of the smallest
#: alerts, where Prometheus sends at most 64 in a request.
DEFAULT_MAX_BODY_BYTES = 4 << 20
_AO0 = ('struct { Annotations models.LabelSet "json:\\"annotations,omitempty\\""; EndsAt strfmt.DateTime '
        '"json:\\"endsAt,omitempty\\""; StartsAt strfmt.DateTime "json:\\"startsAt,omitempty\\"" }')
_AO0_FIELDS = {"annotations": (dict, "models.LabelSet"), "endsAt": (str, "string"), "startsAt": (str, "string")}
_AO1_FIELDS = {"labels": (dict, "models.LabelSet"), "generatorURL": (str, "string")}
_FIELD_NAMES = frozenset(_AO0_FIELDS) | frozenset(_AO1_FIELDS)
_FIELD_TYPES = {name: want for name, (want, _) in (_AO0_FIELDS | _AO1_FIELDS).items()}


def routes(ctx: Any) -> list[BaseRoute]:
    needs = needs_alerting(lambda: ctx.alerting)
    limit = int(ctx.settings.get("alerting_max_body_bytes", DEFAULT_MAX_BODY_BYTES))

    @needs
    async def post_alerts(request: Request, service: AlertingService) -> Response:
        return await post(service, await read_json(request, "alerts", limit))

    @needs
    async def get_alerts(request: Request, service: AlertingService) -> Response:
        keep = alert_filter_of(request, service.now_ms())
        rx = keep.receiver
        views = [v async for part in in_slices(service.held()) for v in map(service.view, part)
                 if (rx is None or any(rx.matches(r) for r in v.receivers)) and keep(v)]
        views.sort(key=lambda v: v.alert.fingerprint_hex)
        return go_json_text(await go_array_text(views, lambda v: alert_json(v.alert, v.mark, v.receivers)))

    @needs
    async def get_groups(request: Request, service: AlertingService) -> Response:
        keep = alert_filter_of(request, service.now_ms())
        async for part in in_slices(service.held()):  # marks as of now, as Alertmanager's groups filter judges them
            for alert in filter(keep.current, part):
                service.judge(alert)
        return go_json_text(await groups_text(await service.groups(), keep, alert_json))

    return [
        am_route("/api/v2/alerts", {"GET": get_alerts, "POST": post_alerts}),
        am_route("/api/v2/alerts/groups", {"GET": get_groups}),
    ]


async def post(service: AlertingService, body: Any) -> Response:
    """Decode, check and take the alerts; the answer Alertmanager gives.

    A body of many alerts is worked through a slice per step of the event loop (``in_slices``),
    so one large request never holds up the others (or the health check) for long; every
    alert is decoded and checked before any is taken, as in Alertmanager. Each alert is quick
    to decode and take: the first slice is a whole ``SLICE``, so a batch of Prometheus' (64)
    or of 100 is one step."""
    if body is None:
        return Response(status_code=200)
    if not isinstance(body, list):
        raise parse_failure("alerts", type_error(body, "Go value", "models.PostableAlerts"))
    decoded: list[dict[str, Any]] = []
    async for part in in_slices(body, first=None):
        decoded += [_decode(i, item) for i, item in enumerate(part, len(decoded))]
    for i, item in enumerate(decoded):
        _schema(i, item)
    errors: list[str] = []
    now, timeout = service.now_ms(), service.config.global_config.resolve_timeout_ms
    async for part in in_slices(decoded, first=None):
        valid: list[Alert] = []
        label_sets = [_label_set(item) for item in part]
        for item, labels, fp in zip(part, label_sets, fingerprints(label_sets), strict=True):
            alert = _alert(item, labels, fp)
            problem = validate(alert, now, timeout)
            if problem is None:
                valid.append(alert)
            else:
                errors.append(problem)
        if valid:
            service.receive(valid)
    return am_error("; ".join(errors)) if errors else Response(status_code=200)


def _decode(i: int, item: Any) -> dict[str, Any]:
    """One postable alert's fields, or Go's decoding error for the first bad one."""
    if item is None:
        raise AmError(swagger_error(422, f"{i}.labels in body is required", code=602))
    if not isinstance(item, dict):
        raise parse_failure("alerts", type_error(item, "Go value", _AO0))
    # Keys spelled exactly as Alertmanager's (what clients send): a plain lookup finds
    # what Go's case-insensitive match would, as no other key can match in another case.
    exact = _FIELD_NAMES.issuperset(item)
    get = item.get if exact else functools.partial(field, item)
    out: dict[str, Any] = {}
    for name in ("startsAt", "endsAt"):
        raw = get(name)
        if isinstance(raw, str):
            try:
                out[name] = parse_datetime(raw)
            except DateTimeError as e:
                raise parse_failure("alerts", str(e)) from None
    labels, annotations = get("labels"), get("annotations")
    if not (exact and _plain(item, labels, annotations)):
        problem = (check_fields(item, _AO0_FIELDS, "")
                   or _map_error(annotations, "Go struct field .annotations")
                   or check_fields(item, _AO1_FIELDS, "Alert")
                   or _map_error(labels, "Go struct field Alert.labels"))
        if problem:
            raise parse_failure("alerts", problem)
    out["labels"] = labels
    out["annotations"] = string_map(annotations)
    out["generatorURL"] = get("generatorURL") or ""
    return out


def _plain(item: dict[str, Any], labels: Any, annotations: Any) -> bool:
    """Every field of the exact type Go wants (or null), and the label and annotation maps
    of strings (or nulls): no type error to look for (what clients send)."""
    return (all(v is None or type(v) is _FIELD_TYPES[k] for k, v in item.items())
            and (labels is None or all(type(v) is str or v is None for v in labels.values()))
            and (annotations is None or all(type(v) is str or v is None for v in annotations.values())))


def _map_error(value: Any, where: str) -> str | None:
    return string_map_error(value, where) if isinstance(value, dict) else None


def _schema(i: int, item: dict[str, Any]) -> None:
    url = item["generatorURL"]
    if url and not is_request_uri(url):
        raise AmError(swagger_error(422, f"{i}.generatorURL in body must be of type uri: {go_quote(url)}", code=601))
    if item["labels"] is None:
        raise AmError(swagger_error(422, f"{i}.labels in body is required", code=602))


def _label_set(item: dict[str, Any]) -> Labels:
    """The alert's labels: a JSON object's names are unique and null or "" values are
    dropped, so the pairs sorted are a label set as ``Labels`` makes it."""
    return Labels._sorted_unchecked(tuple(sorted([(k, v) for k, v in item["labels"].items() if v])))


def _alert(item: dict[str, Any], labels: Labels, fp: int) -> Alert:
    """The alert of a decoded item, its labels and their fingerprint (of the whole body's
    at once: :func:`~sloguard.alerting.model.fingerprints`)."""
    starts, ends = item.get("startsAt"), item.get("endsAt")
    return Alert(
        labels,
        tuple(sorted(item["annotations"].items())),
        starts_at=0 if starts in (None, GO_ZERO_MS) else starts,
        ends_at=None if ends in (None, GO_ZERO_MS) else ends,
        generator_url=item["generatorURL"],
        fingerprint=fp,
    )


def validate(alert: Alert, now_ms: int, resolve_timeout_ms: int) -> str | None:
    """Alertmanager's refusal of one alert (after its defaults for missing times), or None."""
    ends = alert.ends_at if alert.ends_at is not None else now_ms + resolve_timeout_ms
    starts = alert.starts_at or (alert.ends_at if alert.ends_at is not None else now_ms)
    if ends < starts:
        return "start time must be before end time"
    bad = _first_invalid(alert.labels)
    if bad is not None:
        return f"invalid label set: invalid name {go_quote(bad)}"
    if not alert.labels:
        return "at least one label pair required"
    bad = _first_invalid(alert.annotations)
    if bad is not None:
        return f"invalid annotations: invalid name {go_quote(bad)}"
    return None


#: Label names seen valid (a few distinct names recur in every alert).
_valid_name = functools.lru_cache(maxsize=4096)(is_valid_label_name)


def _first_invalid(pairs: tuple[tuple[str, str], ...]) -> str | None:
    for name, _ in pairs:
        if not _valid_name(name):
            return name
    return None


def alert_json(alert: Alert, mark: AlertMark, receivers: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """Alertmanager's gettable alert."""
    out: dict[str, Any] = {
        "annotations": dict(alert.annotations),
        "endsAt": format_datetime(alert.ends_at if alert.ends_at is not None else GO_ZERO_MS),
        "fingerprint": alert.fingerprint_hex,
        "receivers": [{"name": r} for r in receivers],
        "startsAt": format_datetime(alert.starts_at),
        "status": {"inhibitedBy": list(mark.inhibited_by), "silencedBy": list(mark.silenced_by),
                   "state": mark.state.value},
        "updatedAt": format_datetime(alert.updated_at),
    }
    if alert.generator_url:
        out["generatorURL"] = alert.generator_url
    out["labels"] = alert.labels.to_dict()
    return out

