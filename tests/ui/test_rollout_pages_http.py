"""The rollout pages over HTTP without a browser: a clear sentence when the server runs no
rollout service or the rollout does not exist, the empty list's guidance, and a stored
rollout whose spec cannot be rebuilt (no steps, no command offered)."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import bcrypt
import httpx

from sloguard.api import ServerContext, create_app
from sloguard.api._webconfig import WebConfig
from sloguard.tsdb.testing import MemoryStorage


class StoredOnly:
    """A rollout service holding one rollout whose stored spec is gone (as after a bad upgrade)."""

    VIEW: dict[str, Any] = {
        "name": "old", "service": "shop", "strategy": None, "phase": "Paused", "message": "Step 2: waiting.",
        "step": None, "steps": 0, "canaryWeight": 20, "stable": None, "canary": None,
        "createdAt": "2026-12-03T21:00:00.000Z", "updatedAt": "2026-12-03T21:00:05.000Z",
        "stepsDetail": [], "analyses": [{"key": "background", "phase": "Running", "message": "", "metrics": []}],
        "events": [], "hold": "", "abortReason": "", "headerRoutes": [], "mirrorRoutes": [], "proxy": None,
    }  # fmt: skip

    def list(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in self.VIEW.items() if k not in ("stepsDetail", "analyses", "events")}] if self.VIEW else []

    def get(self, name: str) -> dict[str, Any]:
        return self.VIEW

    def explain(self, name: str) -> str:
        return "Rollout old of shop (unknown strategy): Paused\n"


def fetch(ctx: ServerContext, *paths: str, auth: tuple[str, str] | None = None) -> list[httpx.Response]:
    async def go() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=create_app(ctx))
        async with httpx.AsyncClient(transport=transport, base_url="http://sloguard", auth=auth) as c:
            return [await c.get(p) for p in paths]

    with ThreadPoolExecutor(1) as pool:  # its own loop: Playwright's sync API may hold this thread's
        return pool.submit(asyncio.run, go()).result()


def test_without_a_rollout_service_both_pages_say_so_in_a_sentence() -> None:
    listed, one = fetch(ServerContext(storage=MemoryStorage()), "/rollouts", "/rollouts/web")
    assert listed.status_code == 200 and "The rollouts could not be read: This server runs no rollout service" in listed.text
    assert one.status_code == 503 and "This server runs no rollout service" in one.text
    assert "Traceback" not in listed.text + one.text


def test_an_empty_list_tells_how_to_start_a_rollout() -> None:
    ctx = ServerContext(storage=MemoryStorage())
    service = StoredOnly()
    service.VIEW = {}
    ctx.rollouts = service
    [listed] = fetch(ctx, "/rollouts")
    assert "No rollouts yet" in listed.text and "sloguard rollout start FILE" in listed.text


def test_a_rollout_that_cannot_be_rebuilt_shows_what_is_stored_and_offers_no_command() -> None:
    ctx = ServerContext(storage=MemoryStorage())
    ctx.rollouts = StoredOnly()
    [page] = fetch(ctx, "/rollouts/old")
    assert page.status_code == 200
    assert "cannot be rebuilt from its stored spec" in page.text and "unknown strategy" in page.text
    buttons = re.findall(r"<button [^>]*data-action=[^>]*>", page.text)
    assert len(buttons) == 6 and all(" disabled" in b for b in buttons), buttons


def test_a_signed_in_user_acts_under_their_own_name() -> None:
    ctx = ServerContext(storage=MemoryStorage())
    ctx.rollouts = StoredOnly()
    ctx.web_config = WebConfig(basic_auth_users={"ana": bcrypt.hashpw(b"pw", bcrypt.gensalt(rounds=4)).decode()})
    [page] = fetch(ctx, "/rollouts/old", auth=("ana", "pw"))
    assert page.status_code == 200
    assert "Acting as <strong data-user>ana</strong> (signed in)" in page.text and 'id="actor"' not in page.text
    [anonymous] = fetch(ctx, "/rollouts/old")
    assert anonymous.status_code == 401
