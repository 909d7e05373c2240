"""The HTTP side of /api/v1/rollouts over a recording fake service: who the actor is, what a
request body may say, the size limit, and how the service's errors become the envelope.
(tests/api/test_rollouts_api.py runs the same endpoints over the real service.)"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import bcrypt
import httpx
import pytest

from sloguard.api import ServerContext, create_app
from sloguard.api._webconfig import WebConfig
from sloguard.delivery.service import RolloutServiceError
from sloguard.slo._errors import Problem
from sloguard.tsdb.testing import MemoryStorage

HASH = bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=4)).decode()


class RecordingService:
    """Answers every command with a view naming what it was called with."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.refuse: RolloutServiceError | None = None

    def _answer(self, *call: Any) -> dict[str, Any]:
        self.calls.append(call)
        if self.refuse is not None:
            raise self.refuse
        return {"name": call[1], "phase": "Paused"}

    async def start(self, text: str, *, source: str, name: str | None, force: Any, actor: str) -> dict[str, Any]:
        return self._answer("start", name, text, force, actor)

    async def promote(self, name: str, actor: str, full: bool = False) -> dict[str, Any]:
        return self._answer("promote", name, actor, full)

    async def pause(self, name: str, actor: str, reason: str) -> dict[str, Any]:
        return self._answer("pause", name, actor, reason)

    async def abort(self, name: str, actor: str, reason: str) -> dict[str, Any]:
        return self._answer("abort", name, actor, reason)

    async def resume(self, name: str, actor: str) -> dict[str, Any]:
        return self._answer("resume", name, actor)

    async def retry(self, name: str, actor: str) -> dict[str, Any]:
        return self._answer("retry", name, actor)

    def get(self, name: str) -> dict[str, Any]:
        return self._answer("get", name)


def _call(service: RecordingService | None, method: str, path: str, web: WebConfig | None = None,
          settings: dict[str, Any] | None = None, **kw: Any) -> httpx.Response:
    ctx = ServerContext(storage=MemoryStorage(), web_config=web)
    ctx.rollouts = service
    ctx.settings.update(settings or {})
    transport = httpx.ASGITransport(app=create_app(ctx))

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=transport, base_url="http://sloguard") as c:
            return await c.request(method, path, **kw)

    return asyncio.run(go())


def test_the_actor_is_the_authenticated_user_before_the_one_named() -> None:
    svc = RecordingService()
    auth = {"authorization": "Basic " + base64.b64encode(b"alice:pw").decode()}
    r = _call(svc, "POST", "/api/v1/rollouts/web/promote", web=WebConfig(basic_auth_users={"alice": HASH}),
              json={"actor": "mallory"}, headers=auth)
    assert r.status_code == 200, r.text
    assert svc.calls[-1] == ("promote", "web", "alice", False)


def test_the_actor_is_the_one_named_else_api() -> None:
    svc = RecordingService()
    _call(svc, "POST", "/api/v1/rollouts/web/promote", json={"actor": "ana", "full": True})
    _call(svc, "POST", "/api/v1/rollouts/web/resume")
    _call(svc, "POST", "/api/v1/rollouts/web/retry", params={"actor": "bo"})
    assert svc.calls == [("promote", "web", "ana", True), ("resume", "web", "api"), ("retry", "web", "bo")]


def test_start_passes_the_text_unparsed_with_name_and_force() -> None:
    svc = RecordingService()
    r = _call(svc, "POST", "/api/v1/rollouts", content=b"kind: [not parsed here",
              params={"name": "web", "force": "true", "actor": "ana", "reason": "hotfix"})
    assert r.status_code == 201
    _, name, text, force, actor = svc.calls[-1]
    assert (name, text, force.actor, force.reason, actor) == ("web", "kind: [not parsed here", "ana", "hotfix", "ana")


@pytest.mark.parametrize(("method", "path", "kw", "sentence"), [
    ("POST", "/api/v1/rollouts", {"content": b""}, "The request body is empty"),
    ("POST", "/api/v1/rollouts", {"content": b"\xff\xfe"}, "not UTF-8"),
    ("POST", "/api/v1/rollouts", {"content": b"x: 1", "params": {"force": "true"}}, "force=true needs a reason"),
    ("POST", "/api/v1/rollouts", {"content": b"x: 1", "params": {"force": "maybe"}}, "'maybe' is not a boolean"),
    ("POST", "/api/v1/rollouts/web/pause", {}, "A pause needs a reason"),
    ("POST", "/api/v1/rollouts/web/abort", {"json": {"reason": "  "}}, "An abort needs a reason"),
    ("POST", "/api/v1/rollouts/web/promote", {"content": b"{full: true}"}, "is not JSON"),
    ("POST", "/api/v1/rollouts/web/promote", {"json": [1]}, "must be a JSON object, not list"),
    ("POST", "/api/v1/rollouts/web/promote", {"json": {"fulll": True}}, "unknown field 'fulll'"),
    ("POST", "/api/v1/rollouts/web/promote", {"json": {"full": "yes"}}, "'full' of the promote request must be a bool"),
])
def test_bad_requests_are_400_with_a_sentence(method: str, path: str, kw: dict[str, Any], sentence: str) -> None:
    svc = RecordingService()
    r = _call(svc, method, path, **kw)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["status"] == "error" and body["errorType"] == "bad_data"
    assert sentence in body["error"]
    assert svc.calls == []


def test_a_body_over_the_limit_is_413_before_the_service_sees_it() -> None:
    svc = RecordingService()
    r = _call(svc, "POST", "/api/v1/rollouts", settings={"rollout_max_body_bytes": 1000}, content=b"#" * 1001)
    assert r.status_code == 413
    assert "larger than the limit of 1,000 bytes" in r.json()["error"]
    assert _call(svc, "POST", "/api/v1/rollouts", settings={"rollout_max_body_bytes": 1000},
                 content=b"#" * 1000).status_code == 201


def test_a_chunked_body_without_length_is_cut_off_at_the_limit() -> None:
    async def chunks() -> Any:
        for _ in range(20):
            yield b"#" * 100

    svc = RecordingService()
    r = _call(svc, "POST", "/api/v1/rollouts", settings={"rollout_max_body_bytes": 1000}, content=chunks())
    assert r.status_code == 413
    assert svc.calls == []


def test_an_unknown_action_is_404_and_no_service_is_503() -> None:
    r = _call(RecordingService(), "POST", "/api/v1/rollouts/web/rollback")
    assert (r.status_code, r.json()["errorType"]) == (404, "not_found")
    assert "promote, pause, resume, abort, retry" in r.json()["error"]
    r = _call(None, "GET", "/api/v1/rollouts")
    assert (r.status_code, r.json()["errorType"]) == (503, "unavailable")


@pytest.mark.parametrize(("status", "error_type"), [(400, "bad_data"), (404, "not_found"), (409, "conflict")])
def test_service_errors_keep_their_status_and_sentence(status: int, error_type: str) -> None:
    svc = RecordingService()
    svc.refuse = RolloutServiceError("The rollout 'web' is already Paused.", status)
    r = _call(svc, "POST", "/api/v1/rollouts/web/retry")
    assert r.status_code == status
    assert r.json() == {"status": "error", "errorType": error_type, "error": "The rollout 'web' is already Paused.",
                        **({"problems": []} if status == 400 else {})}


def test_spec_problems_are_listed_with_their_key_paths() -> None:
    svc = RecordingService()
    svc.refuse = RolloutServiceError("The rollout spec has 1 problem.", 400, [
        Problem("<api>", "spec.strategy.canary.steps[0].setWeight", "150 is outside 0..100", file_line=14, file_column=20)])
    r = _call(svc, "POST", "/api/v1/rollouts", content=b"x: 1")
    assert r.status_code == 400
    assert r.json()["problems"] == [{"file": "<api>", "path": "spec.strategy.canary.steps[0].setWeight",
                                     "message": "150 is outside 0..100", "file_line": 14, "file_column": 20,
                                     "severity": "error"}]
