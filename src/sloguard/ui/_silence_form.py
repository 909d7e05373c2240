"""The silence form's fields and how they become the body of ``POST /api/v2/silences``.

As ``amtool silence add`` does, the matcher text is parsed here (Alertmanager's grammar,
``{alertname="X", severity=~"page|ticket"}``) and sent as structured matchers; the times
are RFC 3339 (``2026-12-03T22:00:00Z``), the end given directly or as a duration after the
start. Everything else is the API's to refuse, and its sentence is put next to the field it
is about (``field_for``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from sloguard.alerting import MatcherParseError, format_matchers, parse_matchers
from sloguard.durations import DurationError, parse_duration_ms
from sloguard.labels import Matcher, MatchType

#: The form's fields in page order (``id`` is hidden: the silence being edited).
FIELDS = ("matchers", "startsAt", "duration", "endsAt", "createdBy", "comment")
#: The largest form body read.
MAX_FORM_BYTES = 64 << 10
DEFAULT_DURATION = "2h"


@dataclass(frozen=True, slots=True)
class SilenceForm:
    """The form as typed (strings, kept verbatim so a refused form comes back as it was)."""

    matchers: str = ""
    startsAt: str = ""  # noqa: N815 - the API's field names, so errors and fields line up
    duration: str = ""
    endsAt: str = ""  # noqa: N815
    createdBy: str = ""  # noqa: N815
    comment: str = ""
    id: str = ""


def form_of(body: bytes, silence_id: str = "") -> SilenceForm:
    """An ``application/x-www-form-urlencoded`` body's fields (unknown ones ignored)."""
    values = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    got = {name: values.get(name, [""])[-1].strip() for name in FIELDS}
    got["comment"] = values.get("comment", [""])[-1]
    return SilenceForm(**got, id=silence_id or values.get("id", [""])[-1].strip())


def rfc3339(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def new_form(filter_text: str, created_by: str, now: dt.datetime) -> SilenceForm:
    """A new silence's form: the matchers given (an alert's labels), from now, for 2 hours."""
    return SilenceForm(matchers=filter_text, startsAt=rfc3339(now), duration=DEFAULT_DURATION, createdBy=created_by)


def edit_form(silence: Mapping[str, Any], created_by: str) -> SilenceForm:
    """The form of an existing silence (the signed-in user, if any, becomes its author)."""
    matchers = [_matcher(m) for m in silence.get("matchers", [])]
    return SilenceForm(
        matchers=format_matchers(matchers), startsAt=_short(str(silence.get("startsAt", ""))),
        endsAt=_short(str(silence.get("endsAt", ""))), createdBy=created_by or str(silence.get("createdBy", "")),
        comment=str(silence.get("comment", "")), id=str(silence.get("id", "")))


def _short(stamp: str) -> str:
    return stamp.replace(".000Z", "Z")


def _matcher(m: Mapping[str, Any]) -> Matcher:
    regex, equal = bool(m.get("isRegex")), m.get("isEqual", True) is not False
    kind = {(False, True): MatchType.EQUAL, (False, False): MatchType.NOT_EQUAL,
            (True, True): MatchType.REGEX, (True, False): MatchType.NOT_REGEX}[(regex, equal)]
    return Matcher(kind, str(m.get("name", "")), str(m.get("value", "")))


def api_matcher(m: Matcher) -> dict[str, Any]:
    return {"name": m.name, "value": m.value, "isRegex": m.type in (MatchType.REGEX, MatchType.NOT_REGEX),
            "isEqual": m.type in (MatchType.EQUAL, MatchType.REGEX)}


def parse_time(text: str) -> dt.datetime:
    """An RFC 3339 time with its zone; ValueError with a sentence otherwise."""
    try:
        t = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an RFC 3339 time such as 2026-12-03T22:00:00Z.") from None
    if t.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone; end it with Z (UTC) or an offset such as +02:00.")
    return t


def to_body(form: SilenceForm, now: dt.datetime) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The postable silence, or the problems found here, by field."""
    errors: dict[str, str] = {}
    matchers: list[Matcher] = []
    try:
        matchers = parse_matchers(form.matchers) if form.matchers else []
    except MatcherParseError as e:
        errors["matchers"] = f"{e}."
    starts = _time(form.startsAt, "startsAt", errors) if form.startsAt else now
    ends = _ends(form, starts, errors)
    for name, what in (("createdBy", "who creates this silence"), ("comment", "why the alerts are silenced")):
        if not getattr(form, name).strip():
            errors[name] = f"Say {what}."
    if errors or starts is None or ends is None:
        return None, errors
    body: dict[str, Any] = {"matchers": [api_matcher(m) for m in matchers], "startsAt": rfc3339(starts),
                            "endsAt": rfc3339(ends), "createdBy": form.createdBy, "comment": form.comment}
    if form.id:
        body["id"] = form.id
    return body, errors


def _time(text: str, name: str, errors: dict[str, str]) -> dt.datetime | None:
    try:
        return parse_time(text)
    except ValueError as e:
        errors[name] = str(e)
        return None


def _ends(form: SilenceForm, starts: dt.datetime | None, errors: dict[str, str]) -> dt.datetime | None:
    if form.endsAt:
        return _time(form.endsAt, "endsAt", errors)
    if not form.duration:
        errors["endsAt"] = "Give an end time, or a duration such as 2h."
        return None
    try:
        ms = parse_duration_ms(form.duration)
    except DurationError as e:
        errors["duration"] = f"{e}; write a duration such as 90m, 2h or 1d."
        return None
    return starts + dt.timedelta(milliseconds=ms) if starts is not None else None


def field_for(message: str) -> str:
    """Which field an API error is about ("form" when none is named)."""
    text = message.lower()
    for needle, name in (("matcher", "matchers"), ("startsat", "startsAt"), ("endsat", "endsAt"),
                         ("end time", "endsAt"), ("start time", "endsAt"), ("createdby", "createdBy"),
                         ("comment", "comment")):
        if needle in text:
            return name
    return "form"
