"""Silences: the list (``/silences``: active, pending, expired, from ``GET /api/v2/silences``),
the form (``/silences/new``, pre-filled from ``?filter=`` matcher text, and
``/silences/{id}/edit``) and the expire button (``POST /silences/{id}/expire``, with the
name typed on the page as the actor the alert history records).

Every write goes through the API as ``amtool`` sends it (``POST /api/v2/silences``,
``DELETE /api/v2/silence/{id}``), in-process and with the caller's credentials; a refusal
comes back next to the field it is about. Writes are refused when the browser says the
form came from another site.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from sloguard.alerting import MatcherParseError, format_matchers, parse_matchers
from sloguard.ui._alerts import label_text, view_of
from sloguard.ui._am_client import am_call, caller_name, same_origin
from sloguard.ui._render import render, render_error
from sloguard.ui._silence_form import (
    FIELDS,
    MAX_FORM_BYTES,
    SilenceForm,
    edit_form,
    field_for,
    form_of,
    new_form,
    to_body,
)

STATES = ("active", "pending", "expired")
#: How many selected alerts the form lists.
PREVIEW_LIMIT = 20
_CROSS_SITE = "This form was sent from another site; open the page on this server and submit it again."


def _matcher_text(m: Mapping[str, Any]) -> str:
    op = {(False, True): "=", (False, False): "!=", (True, True): "=~", (True, False): "!~"}[
        (bool(m.get("isRegex")), m.get("isEqual", True) is not False)]
    value = str(m.get("value", "")).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'{m.get("name")}{op}"{value}"'


def silence_rows(silences: list[Mapping[str, Any]], alerts: list[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The API's silences by state (in the API's order), each with its matchers as text and
    how many alerts it mutes now."""
    muting: dict[str, int] = {}
    for a in alerts:
        for sid in a.get("status", {}).get("silencedBy", []):
            muting[str(sid)] = muting.get(str(sid), 0) + 1
    out: dict[str, list[dict[str, Any]]] = {state: [] for state in STATES}
    for s in silences:
        matchers = [_matcher_text(m) for m in s.get("matchers", [])]
        text = quote("{" + ", ".join(matchers) + "}")
        row = {**s, "matcher_texts": matchers, "muting": muting.get(str(s.get("id")), 0),
               "recreate": "/silences/new?filter=" + text, "alerts_href": "/alerts?filter=" + text}
        out.setdefault(str(s.get("status", {}).get("state", "")), []).append(row)
    return out


async def silences_page(request: Request) -> Response:
    view = view_of(request)
    error = view.error
    by_state: dict[str, list[dict[str, Any]]] = {state: [] for state in STATES}
    if not error:
        params = {"filter": view.api_params()["filter"]}
        listed = await am_call(request, "GET", "/api/v2/silences", params)
        alerts = await am_call(request, "GET", "/api/v2/alerts")
        if listed.ok:
            by_state = silence_rows(listed.data or [], alerts.data if alerts.ok else [])
        else:
            error = f"The silences could not be read: {listed.error}"
    q = request.query_params
    return render(request, "silences.html", nav="/alerts", title="Silences", view=view, by_state=by_state,
                  states=STATES, error=error, created=q.get("created", ""), expired=q.get("expired", ""),
                  user=signed_in(request))


def signed_in(request: Request) -> str | None:
    """The basic-auth user the server checked: the API records them as the actor."""
    from sloguard.api._rollout_body import authenticated_user  # the API's own rule for who acts

    ctx = getattr(request.app.state, "ctx", None)
    return authenticated_user(request, ctx) if ctx is not None else None


async def selected_alerts(request: Request, matcher_text: str) -> list[str] | None:
    """The label sets of the alerts the matchers select now (``GET /api/v2/alerts?filter=``),
    a preview of what the silence mutes; None when the text does not parse or the API fails."""
    try:
        matchers = parse_matchers(matcher_text) if matcher_text.strip() else []
    except MatcherParseError:
        return None
    if not matchers:
        return None
    answer = await am_call(request, "GET", "/api/v2/alerts", {"filter": [format_matchers([m])[1:-1] for m in matchers]})
    return [label_text(a.get("labels", {})) for a in answer.data or []] if answer.ok else None


async def _form_page(request: Request, form: SilenceForm, errors: Mapping[str, str] | None = None,
                     status: int = 200) -> Response:
    title = "Edit silence" if form.id else "New silence"
    return render(request, "silence_form.html", status=status, nav="/alerts", title=title, form=form,
                  errors=dict(errors or {}), first_error=next((f for f in FIELDS if f in (errors or {})), ""),
                  selected=await selected_alerts(request, form.matchers), preview_limit=PREVIEW_LIMIT)


async def new_silence_page(request: Request) -> Response:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    form = new_form(request.query_params.get("filter", "").strip(), caller_name(request), now)
    return await _form_page(request, form)


async def edit_silence_page(request: Request) -> Response:
    sid = str(request.path_params["silence_id"])
    answer = await am_call(request, "GET", f"/api/v2/silence/{quote(sid, safe='')}")
    if not answer.ok:
        status = answer.status if answer.status in (404, 422, 503) else 502
        why = answer.error if answer.status != 404 else f"There is no silence {sid!r}."
        return render_error(request, 404 if status == 422 else status, why, title="No such silence")
    return await _form_page(request, edit_form(answer.data, caller_name(request)))


async def save_silence(request: Request) -> Response:
    """The form's POST: the silence through ``POST /api/v2/silences``, then the list."""
    if not same_origin(request):
        return render_error(request, 403, _CROSS_SITE, title="Refused")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return render_error(request, 413, f"The form is larger than {MAX_FORM_BYTES} bytes.", title="Too large")
    form = form_of(body, str(request.path_params.get("silence_id", "")))
    postable, errors = to_body(form, dt.datetime.now(dt.UTC))
    if postable is not None:
        answer = await am_call(request, "POST", "/api/v2/silences", body=postable)
        if answer.ok and isinstance(answer.data, dict):
            sid = quote(str(answer.data.get("silenceID", "")), safe="")
            return RedirectResponse(f"/silences?created={sid}#silence-{sid}", status_code=303)
        errors = {field_for(answer.error): answer.error}
    return await _form_page(request, form, errors, status=422)


async def expire_silence(request: Request) -> Response:
    """The expire button: ``DELETE /api/v2/silence/{id}`` with the name the form gives as
    ``actor`` (the API records the signed-in user instead when there is one), then the list."""
    if not same_origin(request):
        return render_error(request, 403, _CROSS_SITE, title="Refused")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return render_error(request, 413, f"The form is larger than {MAX_FORM_BYTES} bytes.", title="Too large")
    actor = parse_qs(body.decode("utf-8", errors="replace")).get("actor", [""])[0].strip()[:100]
    sid = str(request.path_params["silence_id"])
    answer = await am_call(request, "DELETE", f"/api/v2/silence/{quote(sid, safe='')}",
                           {"actor": actor} if actor else None)
    if not answer.ok:
        why = f"Silence {sid!r} could not be expired: {answer.error}."
        gone = answer.status == 422 or answer.error == "silence not found"
        return render_error(request, 404 if gone else answer.status or 502, why, title="Not expired")
    return RedirectResponse(f"/silences?expired={quote(sid, safe='')}#silence-{quote(sid, safe='')}", status_code=303)
