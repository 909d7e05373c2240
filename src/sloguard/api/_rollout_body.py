"""What a rollout request says: its body (read within a limit), its query parameters, and
who sends it. The YAML of a start is not parsed here; the service reads it."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from sloguard.api._context import ServerContext
from sloguard.delivery.policy import Force
from sloguard.nesting import NestingError, json_loads

DEFAULT_MAX_BODY_BYTES = 1 << 20
"""The largest rollout request body (``ctx.settings["rollout_max_body_bytes"]`` overrides it)."""

_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no", "")
_ACTION_FIELDS = {"actor": str, "reason": str, "full": bool}


class RolloutApiError(Exception):
    """A refused rollout request: its HTTP status, sentence and, for a bad spec, the problems."""

    def __init__(self, status: int, message: str, problems: list[Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.problems = status, message, problems


@dataclass(frozen=True, slots=True)
class ActionBody:
    """The optional fields of a promote, pause, resume, abort or retry request."""

    actor: str = ""
    reason: str = ""
    full: bool = False


def body_limit(settings: Mapping[str, Any]) -> int:
    return int(settings.get("rollout_max_body_bytes", DEFAULT_MAX_BODY_BYTES))


async def read_limited(request: Request, limit: int) -> bytes:
    """The body, refused with 413 once it passes ``limit`` bytes (at once when
    ``Content-Length`` says so), before it is all buffered."""
    too_large = RolloutApiError(413, f"The request body is larger than the limit of {limit:,} bytes "
                                     "for a rollout request (rollout_max_body_bytes).")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    size, chunks = 0, []
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def authenticated_user(request: Request, ctx: ServerContext) -> str | None:
    """The basic-auth user the server checked (its web config requires auth), else None.
    ``WebAuth`` has refused the request already if those credentials were wrong."""
    web = ctx.web_config
    if web is None or not getattr(web, "requires_auth", False) or not getattr(web, "basic_auth_users", None):
        return None
    scheme, _, data = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, _ = base64.b64decode(data.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user if sep and user else None


def actor_of(request: Request, ctx: ServerContext, given: str) -> str:
    """The authenticated user, else the ``actor`` the request names, else ``api``."""
    return authenticated_user(request, ctx) or given.strip() or "api"


def query_bool(params: Mapping[str, str], name: str) -> bool:
    raw = params.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise RolloutApiError(400, f"The query parameter {name}={params.get(name)!r} is not a boolean (true or false).")


def start_options(raw: bytes, params: Mapping[str, str], user: str | None) -> tuple[str, str | None, Force | None, str]:
    """The spec text, the rollout to start (None: the only one in the text), the force of
    the error-budget policy (who and why) and the actor, from a start request."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RolloutApiError(400, f"The request body is not UTF-8 text (byte {e.start}); send the rollout's YAML.") from None
    if not text.strip():
        raise RolloutApiError(400, "The request body is empty; send the YAML of the rollout and its AnalysisTemplates, "
                                   "or name (?name=) a rollout of the server's rollout_files.")
    actor = user or params.get("actor", "").strip() or "api"
    force = None
    if query_bool(params, "force"):
        reason = params.get("reason", "").strip()
        if not reason:
            raise RolloutApiError(400, "force=true needs a reason (the query parameter reason): "
                                       "an override of the error-budget policy is recorded with who and why.")
        force = Force(actor, reason)
    return text, params.get("name", "").strip() or None, force, actor


def action_body(raw: bytes, params: Mapping[str, str], action: str) -> ActionBody:
    """The fields of a command: the JSON body's, else the query parameters'. ``pause`` and
    ``abort`` need a reason."""
    fields: dict[str, Any] = {k: params[k] for k in ("actor", "reason") if k in params}
    if "full" in params:
        fields["full"] = query_bool(params, "full")
    fields.update(_json_fields(raw, action))
    body = ActionBody(**fields)
    if action in ("pause", "abort") and not body.reason.strip():
        article = "An" if action == "abort" else "A"
        raise RolloutApiError(400, f"{article} {action} needs a reason (the JSON field \"reason\"), so the event says why.")
    return body


def _json_fields(raw: bytes, action: str) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        doc = json_loads(raw)
    except NestingError as e:
        raise RolloutApiError(400, f"The body of the {action} request {e}.") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise RolloutApiError(400, f"The body of the {action} request is not JSON: {e}.") from None
    if not isinstance(doc, dict):
        raise RolloutApiError(400, f"The body of the {action} request must be a JSON object, not {type(doc).__name__}.")
    for key, value in doc.items():
        want = _ACTION_FIELDS.get(key)
        if want is None:
            known = ", ".join(_ACTION_FIELDS)
            raise RolloutApiError(400, f"The body of the {action} request has an unknown field {key!r} (known: {known}).")
        if not isinstance(value, want):
            raise RolloutApiError(400, f"The field {key!r} of the {action} request must be a {want.__name__}, "
                                       f"not {json.dumps(value)}.")
    return doc
