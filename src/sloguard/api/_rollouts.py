"""Rollout endpoints under ``/api/v1/rollouts`` over the server's ``RolloutService``.

``GET /api/v1/rollouts`` lists summaries; ``GET /api/v1/rollouts/{name}`` gives the full
view, ``/events`` its events and ``/explain`` the text of ``sloguard rollout explain``.
``POST /api/v1/rollouts`` starts a rollout from the YAML in the body (the rollout and its
AnalysisTemplates; only the service parses it), with the query parameters ``name``,
``force``, ``actor`` and ``reason``; ``POST /api/v1/rollouts/{name}/{action}`` promotes,
pauses, resumes, aborts or retries it, with an optional JSON body ``{"actor", "reason",
"full"}`` (or the same query parameters). Errors are the Prometheus envelope with
``errorType`` ``bad_data`` (400, with ``problems`` for a bad spec), ``not_found`` (404),
``conflict`` (409), ``unavailable`` (503) and 413 for a body over the limit.

Who acts: the user the server authenticated (HTTP basic auth of the web config), else the
``actor`` given, else ``api``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sloguard.api._context import ServerContext
from sloguard.api._rollout_body import (
    ActionBody,
    RolloutApiError,
    action_body,
    actor_of,
    authenticated_user,
    body_limit,
    read_limited,
    start_options,
)

if TYPE_CHECKING:  # the service loads when the first rollout request fails (scipy: when a judge first runs)
    from sloguard.delivery.service import RolloutServiceError

log = logging.getLogger("sloguard.api")

ERROR_TYPES = {400: "bad_data", 404: "not_found", 409: "conflict", 413: "bad_data", 503: "unavailable"}
ACTIONS = ("promote", "pause", "resume", "abort", "retry")


def error_response(status: int, message: str, problems: list[Any] | None = None) -> JSONResponse:
    body: dict[str, Any] = {"status": "error", "errorType": ERROR_TYPES.get(status, "internal"), "error": message}
    if problems is not None:
        body["problems"] = problems
    return JSONResponse(body, status_code=status)


def problem_json(p: Any) -> Any:
    """A spec problem as JSON (the shape ``sloguard rollout validate --format json`` prints)."""
    from sloguard.slo._errors import Problem
    from sloguard.slo._problems import problem_json as as_json

    if isinstance(p, Problem):
        return {**as_json(p), "severity": "error" if p.is_error else "warning"}
    return p if isinstance(p, dict | str) else str(p)


def _from_service_error(e: RolloutServiceError) -> RolloutApiError:
    """The service's refusal with its status; a bad spec lists its problems (maybe none)."""
    listed = [problem_json(p) for p in e.problems] if e.problems or e.status == 400 else None
    return RolloutApiError(e.status, str(e), listed)


Handler = Callable[[Request], Awaitable[Response]]


def rollout_endpoint(handler: Handler) -> Handler:
    """``RolloutApiError`` and the service's errors become the error envelope; anything
    else is logged and answered 500 with its sentence."""

    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except RolloutApiError as e:
            return error_response(e.status, e.message, e.problems)
        except Exception as e:  # the service's refusals carry their status; anything else is a bug
            from sloguard.delivery.service import RolloutServiceError

            if isinstance(e, RolloutServiceError):
                err = _from_service_error(e)
                return error_response(err.status, err.message, err.problems)
            log.exception("rollout request failed", extra={"path": request.url.path})
            return error_response(500, f"The rollout request failed inside the server: {type(e).__name__}: {e}")

    wrapped.__name__ = handler.__name__
    return wrapped


def success(data: Any, status: int = 200) -> JSONResponse:
    return JSONResponse({"status": "success", "data": data}, status_code=status)


def routes(ctx: ServerContext) -> list[BaseRoute]:
    def service() -> Any:
        if ctx.rollouts is None:
            raise RolloutApiError(503, "This server runs no rollout service (it is still starting, or has stopped).")
        return ctx.rollouts

    @rollout_endpoint
    async def list_rollouts(request: Request) -> Response:
        return success(service().list())

    @rollout_endpoint
    async def one(request: Request) -> Response:
        return success(service().get(request.path_params["name"]))

    @rollout_endpoint
    async def events(request: Request) -> Response:
        return success(service().events(request.path_params["name"]))

    @rollout_endpoint
    async def explain(request: Request) -> Response:
        return success({"text": service().explain(request.path_params["name"])})

    @rollout_endpoint
    async def start(request: Request) -> Response:
        svc = service()
        raw, source = await read_limited(request, body_limit(ctx.settings)), "<api>"
        if not raw.strip() and request.query_params.get("name"):  # a rollout of the server's rollout_files
            raw, source = await _known(ctx, raw, source)
        text, name, force, actor = start_options(raw, request.query_params, authenticated_user(request, ctx))
        view = await svc.start(text, source=source, name=name, force=force, actor=actor)
        return success(view, 201)

    @rollout_endpoint
    async def act(request: Request) -> Response:
        svc, name, action = service(), request.path_params["name"], request.path_params["action"]
        if action not in ACTIONS:
            raise RolloutApiError(404, f"There is no rollout action {action!r}; the actions are {', '.join(ACTIONS)}.")
        raw = await read_limited(request, body_limit(ctx.settings))
        body = action_body(raw, request.query_params, action)
        actor = actor_of(request, ctx, body.actor)
        return success(await _perform(svc, action, name, actor, body))

    return [
        Route("/api/v1/rollouts", list_rollouts, methods=["GET"]),
        Route("/api/v1/rollouts", start, methods=["POST"]),
        Route("/api/v1/rollouts/{name}", one, methods=["GET"]),
        Route("/api/v1/rollouts/{name}/events", events, methods=["GET"]),
        Route("/api/v1/rollouts/{name}/explain", explain, methods=["GET"]),
        Route("/api/v1/rollouts/{name}/{action}", act, methods=["POST"]),
    ]


async def _known(ctx: ServerContext, raw: bytes, source: str) -> tuple[bytes, str]:
    """The text of the server's ``rollout_files`` (unchanged when it has none)."""
    read = ctx.settings.get("rollout_files")
    try:
        found = await asyncio.to_thread(read) if read is not None else None
    except (OSError, UnicodeDecodeError) as e:
        raise RolloutApiError(400, f"The server cannot read its rollout_files: {e}.") from None
    return (found[0].encode(), found[1]) if found is not None else (raw, source)


async def _perform(svc: Any, action: str, name: str, actor: str, body: ActionBody) -> Any:
    match action:
        case "promote":
            return await svc.promote(name, actor, full=body.full)
        case "pause":
            return await svc.pause(name, actor, body.reason)
        case "abort":
            return await svc.abort(name, actor, body.reason)
        case "resume":
            return await svc.resume(name, actor)
        case _:
            return await svc.retry(name, actor)


__all__ = ["ACTIONS", "routes"]
