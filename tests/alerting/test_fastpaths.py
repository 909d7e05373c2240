"""The pipeline's fast paths behave as the general ones: deadlines on the loop's timer
(system clock) and raced against the clock (manual clock), the one-integration fan-out,
the shared client's direct aiohttp POST, and the server's GC thresholds."""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Sequence

import pytest

from sloguard._gctune import SERVER_GC_THRESHOLDS, tune_for_server
from sloguard.alerting._aioclient import SharedClient
from sloguard.alerting._deadline import TimedOut, until
from sloguard.alerting._stage_chain import Branch, FanoutStage
from sloguard.alerting._wakeup import call_at
from sloguard.alerting.model import Alert
from sloguard.alerting.receivers._base import post_json
from sloguard.alerting.route import RouteOpts
from sloguard.alerting.stages import Deferred, FlushContext, StageError
from sloguard.clock import ManualClock, SystemClock
from sloguard.labels import Labels
from tests._net import free_port


async def _forever() -> int:
    await asyncio.Event().wait()
    return 0


async def _value() -> int:
    await asyncio.sleep(0)
    return 7


async def _raises_timeout() -> int:
    raise TimeoutError("the call's own timeout")


def test_until_system_clock_result_deadline_and_own_timeout() -> None:
    clock = SystemClock()

    async def go() -> None:
        assert await until(_value(), clock, clock.now_ms() + 60_000) == 7
        with pytest.raises(TimedOut):
            await until(_forever(), clock, clock.now_ms())  # the deadline is now: no sleeping
        with pytest.raises(TimeoutError, match="own timeout"):  # not mistaken for the deadline
            await until(_raises_timeout(), clock, clock.now_ms() + 60_000)

    asyncio.run(go())


def test_until_manual_clock_times_out_only_when_the_clock_gets_there() -> None:
    clock = ManualClock(1_000)

    async def go() -> None:
        cancelled = asyncio.Event()

        async def hangs() -> int:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.set()
                raise
            return 0

        task = asyncio.create_task(until(hangs(), clock, 5_000))
        await clock.advance_to(4_999)
        assert not task.done()
        await clock.advance_to(5_000)
        with pytest.raises(TimedOut):
            await task
        assert cancelled.is_set()
        assert await until(_value(), clock, 9_000) == 7

    asyncio.run(go())


def test_call_at_on_the_system_clock_calls_back_in_time_one_timer_per_millisecond() -> None:
    clock = SystemClock()

    async def go() -> None:
        loop = asyncio.get_running_loop()
        calls: list[str] = []
        done = asyncio.Event()
        at = clock.now_ms() + 50
        call_at(clock, at, lambda: calls.append(f"first {clock.now_ms() >= at}"))
        second = call_at(clock, at, lambda: calls.append("second"))
        call_at(clock, at, done.set)
        other = call_at(clock, at + 3_600_000, lambda: calls.append("other"))
        assert _live_timers(loop) == 2  # one per millisecond, not one per call
        second.cancel()
        await done.wait()
        assert calls == ["first True"]  # in time, in order, the cancelled one left out
        assert _live_timers(loop) == 1
        other.cancel()

    asyncio.run(go())


def _live_timers(loop: asyncio.AbstractEventLoop) -> int:
    handles: list[asyncio.TimerHandle] = loop._scheduled  # type: ignore[attr-defined]
    return len([h for h in handles if not h.cancelled()])


def test_call_at_on_a_manual_clock_waits_for_simulated_time() -> None:
    clock = ManualClock(0)

    async def go() -> None:
        calls: list[int] = []
        call_at(clock, 1_000, lambda: calls.append(clock.now_ms()))
        cancelled = call_at(clock, 1_000, lambda: calls.append(-1))
        cancelled.cancel()
        await clock.advance_to(999)
        assert calls == []
        await clock.advance_to(1_000)
        assert calls == [1_000]

    asyncio.run(go())


class _Stage:
    def __init__(self, error: Exception | None) -> None:
        self.error = error
        self.seen: list[str] = []

    async def exec(self, ctx: FlushContext, alerts: Sequence[Alert]) -> tuple[FlushContext, list[Alert]]:
        self.seen.append(ctx.integration)
        if self.error is not None:
            raise self.error
        return ctx, []


CTX = FlushContext("{}:{}", "id", "r", Labels.from_dict({}), RouteOpts("r"), 0)
ALERTS = [Alert.of({"alertname": "a"})]


@pytest.mark.parametrize(("error", "raised"), [
    (None, None), (Deferred("r/webhook[0]: held"), Deferred), (StageError("r/webhook[0]: down"), StageError),
    (ValueError("bug"), StageError),
])
def test_single_branch_fanout_reports_as_gather_did(error: Exception | None, raised: type | None) -> None:
    stage = _Stage(error)
    fanout = FanoutStage([Branch("r/webhook[0]", stage)])

    async def go() -> tuple[FlushContext, list[Alert]]:
        return await fanout.exec(CTX, ALERTS)

    if raised is None:
        assert asyncio.run(go()) == (CTX, ALERTS)
    else:
        with pytest.raises(raised) as info:
            asyncio.run(go())
        assert type(info.value) is raised
        if isinstance(error, ValueError):
            assert str(info.value) == "r/webhook[0]: ValueError: bug"
    assert stage.seen == ["r/webhook[0]"]


async def _serve_once(status: int, body: bytes, got: list[bytes]) -> tuple[asyncio.Server, int]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        got.append(head + await reader.readexactly(length))
        writer.write(b"HTTP/1.1 %d X\r\nContent-Length: %d\r\n\r\n%s" % (status, len(body), body))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


@pytest.mark.parametrize(("status", "ok", "retryable"), [(200, True, False), (503, False, True), (400, False, False)])
def test_shared_client_posts_directly(status: int, ok: bool, retryable: bool) -> None:
    async def go() -> tuple[bool, bool, str, list[bytes]]:
        got: list[bytes] = []
        server, port = await _serve_once(status, b"busy" if status != 200 else b"", got)
        client = SharedClient()
        try:
            r = await post_json(client, f"http://127.0.0.1:{port}/hook", b'{"a":1}\n', "webhook")
        finally:
            await client.aclose()
            server.close()
        return r.ok, r.retryable, r.error, got

    result_ok, result_retryable, error, got = asyncio.run(go())
    assert (result_ok, result_retryable) == (ok, retryable)
    request = got[0].lower()
    assert request.startswith(b"post /hook http/1.1")
    assert b"content-type: application/json" in request and b"user-agent: sloguard-alerting" in request
    assert json.loads(got[0].split(b"\r\n\r\n", 1)[1]) == {"a": 1}
    if not ok:
        assert error == f"webhook: unexpected status code {status}: busy"


def test_shared_client_connection_refused_is_a_retryable_connect_error() -> None:
    """A refused connection fails the attempt as retryable and says it could not connect
    (httpx-aiohttp, the shared client's transport before, called it a timeout)."""
    async def go() -> tuple[bool, bool, str]:
        client = SharedClient()
        try:
            r = await post_json(client, f"http://127.0.0.1:{free_port()}/hook", b"{}", "webhook")
        finally:
            await client.aclose()
        return r.ok, r.retryable, r.error

    assert asyncio.run(go()) == (False, True, "webhook: the request failed (ConnectError)")


def test_server_gc_thresholds() -> None:
    before = gc.get_threshold()
    try:
        tune_for_server()
        assert gc.get_threshold() == SERVER_GC_THRESHOLDS
    finally:
        gc.set_threshold(*before)


def test_until_system_clock_leaves_other_cancellations_alone() -> None:
    """A cancel from outside stays a cancel (not a timeout); a deadline whose cancel the
    call swallowed leaves the task not cancelling; deadlines fire late, never early."""
    clock = SystemClock()

    async def go() -> None:
        task = asyncio.create_task(until(_forever(), clock, clock.now_ms() + 60_000))
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

        async def swallows() -> int:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                return 5
            return 0

        assert await until(swallows(), clock, clock.now_ms() + 20) == 5
        current = asyncio.current_task()
        assert current is not None and current.cancelling() == 0
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(TimedOut):
            await until(_forever(), clock, clock.now_ms() + 50)
        assert loop.time() - started >= 0.049

    asyncio.run(go())
