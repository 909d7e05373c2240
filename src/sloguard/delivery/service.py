"""Served rollouts: ``RolloutService`` starts rollouts from spec text, drives each with a
``RolloutRunner`` on a background task, takes people's commands, and resumes everything
after a restart.

* ``start(text)``: the text (rollouts and AnalysisTemplates) is read and made a plan
  (every problem: 400), the name checked (a DNS label; one already running: 409), the
  error-budget policy checked unless the spec says ``blockWhenExhausted: false`` (refused:
  409, the sentence why), the text stored with the rollout, its router built (an
  in-process ``proxy`` is shared per service, host and port) and the rollout started.
* A task per running rollout ticks its runner every ``tick_ms``; a command wakes it. An
  exception in the loop is logged and pauses the rollout with the reason; the server goes on.
* ``open()`` rebuilds each stored rollout from its stored text; every in-process proxy is
  started again and given the committed traffic of the last rollout that used it
  (finished ones included: a Healthy rollout keeps its canary at 100%, a Degraded one at
  0%); unfinished rollouts carry on where their state says.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sloguard.alerting.service import AlertingService
from sloguard.clock import Clock
from sloguard.delivery._controller_state import ControllerError, RolloutPhase, RolloutState
from sloguard.delivery._runner_io import load, perform, traffic_of
from sloguard.delivery._service_proxies import ProxyHub, ProxyKey
from sloguard.delivery._service_specs import PageAlerts, RolloutServiceError, read_spec
from sloguard.delivery._spec_model import RolloutSpec
from sloguard.delivery._steps import Plan
from sloguard.delivery._view import event_view, explain_text, full_view, summary
from sloguard.delivery.analysis.providers import ProviderEnv
from sloguard.delivery.plan import JUDGE_INTERVAL_MS
from sloguard.delivery.policy import BudgetSource, Force, PolicyError, enforce_start
from sloguard.delivery.routers import RouterError
from sloguard.delivery.routers.proxy import MetricSink
from sloguard.delivery.runner import DEFAULT_TICK_MS, RolloutRunner
from sloguard.state import RevisionConflict, RolloutEvent, RolloutRepository

__all__ = ["RolloutService", "RolloutServiceError"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Served:
    """A rollout the service drives: its spec and plan, runner, proxy key, loop task; the
    lock serialises the loop's ticks with people's commands."""

    spec: RolloutSpec
    plan: Plan
    runner: RolloutRunner
    proxy: ProxyKey | None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None


class RolloutService:
    """Rollouts served from the state store; see the module doc."""

    def __init__(self, repo: RolloutRepository, env: ProviderEnv, clock: Clock, *, alerting: AlertingService | None = None,
                 budget: BudgetSource | None = None, sink: MetricSink | None = None, tick_ms: int = DEFAULT_TICK_MS,
                 judge_interval_ms: int = JUDGE_INTERVAL_MS, embedded_prometheus: bool = False) -> None:
        self.repo, self.env, self.clock = repo, env, clock
        self._plan_options: dict[str, Any] = {
            "judge_interval_ms": judge_interval_ms, "embedded_prometheus": embedded_prometheus,
            "query_backends": frozenset(env.backends) if env.backends is not None else None}
        self.alerting, self.budget, self.tick_ms = alerting, budget, tick_ms
        self._hub = ProxyHub(sink, clock)
        self._served: dict[str, _Served] = {}
        self._starting = asyncio.Lock()  # one start at a time: its checks hold until it is saved
        #: In a cluster: whether this replica drives the rollout now (``sloguard.cluster``
        #: leases); ``None`` drives every rollout it serves.
        self.owns: Callable[[str], bool] | None = None

    # -- lifecycle ----------------------------------------------------------------------

    async def open(self) -> None:
        """Rebuild every stored rollout and re-apply committed traffic (each proxy's last
        rollout; every unfinished rollout of another router, whose fresh router object does
        not know the traffic in force), then start the loops."""
        records = sorted(self.repo.list(), key=lambda r: (int(r.state.get("created_ms", 0)), r.name))
        last: dict[ProxyKey | str, _Served] = {}
        for record in records:
            sv = await self._restore(record.name)
            if sv is not None and (sv.proxy is not None or record.phase not in ("Healthy", "Degraded")):
                last[sv.proxy or sv.spec.name] = sv
        for sv in last.values():
            await self._reapply(sv)
        for sv in self._served.values():
            self._ensure_loop(sv)

    async def _restore(self, name: str) -> _Served | None:
        stored = self.repo.spec(name)
        if stored is None:
            log.error("The rollout %r has no stored spec text; it is shown but not driven.", name)
            return None
        try:
            load(self.repo, name)  # a damaged or newer stored state is not driven (ControllerError)
            spec, plan = read_spec(stored[0], stored[1], name, **self._plan_options)
            sv = _Served(spec, plan, self._runner(spec, await self._hub.router_for(spec)), self._hub.key_of(spec))
        except (RolloutServiceError, RouterError, ControllerError) as e:
            log.error("The rollout %r cannot be resumed from its stored spec: %s", name, e)
            return None
        self._served[name] = sv
        return sv

    async def _reapply(self, sv: _Served) -> None:
        """The committed traffic of the proxy's last rollout, on the freshly started proxy."""
        s = load(self.repo, sv.spec.name)
        if s is None:
            return
        try:
            for action in traffic_of(sv.plan, s):
                await perform(sv.runner.router, action)
        except Exception:  # a proxy that refuses is reported; the loop re-applies pending traffic
            log.exception("Re-applying the traffic of the rollout %r failed.", sv.spec.name)

    async def close(self) -> None:
        """Stop the loops and the in-process proxies; the state stays, a restart resumes."""
        tasks = [sv.task for sv in self._served.values() if sv.task is not None]
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._served.clear()
        await self._hub.close()

    # -- start and commands ---------------------------------------------------------------

    async def start(self, text: str, *, source: str = "<api>", name: str | None = None, force: Force | None = None,
                    actor: str = "api") -> dict[str, Any]:
        """Start the rollout of ``text`` (``name`` picks one when the text holds several);
        see the module doc. Its full view."""
        async with self._starting:
            return await self._start(text, source, name, force, actor)

    async def _start(self, text: str, source: str, name: str | None, force: Force | None, actor: str) -> dict[str, Any]:
        spec, plan = read_spec(text, source, name, **self._plan_options)
        try:
            key = self._hub.key_of(spec)
        except RouterError as e:
            raise RolloutServiceError(str(e), 400) from None
        self._refuse_running(spec.name, key)
        await self._check_policy(spec, force)
        try:
            router = await self._hub.router_for(spec)
        except RouterError as e:
            raise RolloutServiceError(f"The rollout {spec.name!r} cannot start: {e}", 409) from None
        now = self.clock.now_ms()
        self.repo.save_spec(spec.name, text, source, now)
        self.repo.append_event(RolloutEvent(spec.name, now, "RolloutStartRequested", "Start",
                                            f"Start requested from {source}.", actor))
        sv = _Served(spec, plan, self._runner(spec, router), key)
        async with sv.lock:
            try:
                await sv.runner.start(plan)
            except (ControllerError, RevisionConflict) as e:
                raise RolloutServiceError(str(e), 409) from None
        self._served[spec.name] = sv
        self._ensure_loop(sv)
        return self.get(spec.name)

    def _refuse_running(self, name: str, key: ProxyKey | None) -> None:
        s = load(self.repo, name)
        if s is not None and not s.phase.finished:
            raise RolloutServiceError(f"The rollout {name!r} is already {s.phase.value}; abort it or let it finish first.", 409)
        for other in self._served.values():
            if key is not None and other.proxy == key and other.spec.name != name:
                o = load(self.repo, other.spec.name)
                if o is not None and not o.phase.finished:
                    raise RolloutServiceError(
                        f"The proxy of the service {key[0]!r} on {key[1]}:{key[2]} is in use by the rollout "
                        f"{other.spec.name!r} ({o.phase.value}); abort it or let it finish first.", 409)

    async def _check_policy(self, spec: RolloutSpec, force: Force | None) -> None:
        """The budgets are computed on a worker thread: a 30-day SLO takes up to a second."""
        if self.budget is None or not spec.error_budget_policy.block_when_exhausted:
            return
        try:
            await asyncio.to_thread(enforce_start, self.repo, self.budget, spec.name, spec.service,
                                    self.clock.now_ms(), force)
        except PolicyError as e:
            raise RolloutServiceError(str(e), 409) from None

    def _runner(self, spec: RolloutSpec, router: Any) -> RolloutRunner:
        return RolloutRunner(self.repo, router, self.env, self.clock, self.alerting,
                             PageAlerts(self.budget, spec.error_budget_policy), self.tick_ms)

    async def promote(self, name: str, actor: str, full: bool = False) -> dict[str, Any]:
        return await self._command(name, lambda sv: sv.runner.promote(sv.plan, actor, full))

    async def pause(self, name: str, actor: str, reason: str) -> dict[str, Any]:
        return await self._command(name, lambda sv: sv.runner.pause(sv.plan, actor, reason))

    async def resume(self, name: str, actor: str) -> dict[str, Any]:
        return await self._command(name, lambda sv: sv.runner.resume(sv.plan, actor))

    async def abort(self, name: str, actor: str, reason: str) -> dict[str, Any]:
        return await self._command(name, lambda sv: sv.runner.abort(sv.plan, actor, reason))

    async def retry(self, name: str, actor: str) -> dict[str, Any]:
        await self._serve_stored(name)
        sv = self._driven(name)
        self._refuse_running(name, sv.proxy)
        stored = load(self.repo, name)
        if stored is not None and stored.phase is RolloutPhase.DEGRADED:
            sv.runner.router = await self._hub.router_for(sv.spec)  # the proxy back on this rollout's versions
        return await self._command(name, lambda s: s.runner.retry(s.plan, actor))

    async def _command(self, name: str, call: Callable[[_Served], Awaitable[RolloutState]]) -> dict[str, Any]:
        await self._serve_stored(name)
        sv = self._driven(name)
        async with sv.lock:
            try:
                await call(sv)
            except ControllerError as e:
                raise RolloutServiceError(str(e), 409) from None
        sv.wake.set()
        self._ensure_loop(sv)
        return self.get(name)

    async def _serve_stored(self, name: str) -> None:
        """In a cluster, a command may name a rollout another replica started: serve it
        from its stored spec (its loop runs only while this replica holds its lease)."""
        if self.owns is not None and name not in self._served and self.repo.get(name) is not None:
            await self._restore(name)

    def _driven(self, name: str) -> _Served:
        sv = self._served.get(name)
        if sv is not None:
            return sv
        if self.repo.get(name) is None:
            raise RolloutServiceError(f"There is no rollout named {name!r}.", 404)
        raise RolloutServiceError(f"The rollout {name!r} is stored but not driven by this server: its spec "
                                  "could not be rebuilt (see the server's log); start it again.", 409)

    def _ensure_loop(self, sv: _Served) -> None:
        if sv.task is None or sv.task.done():
            sv.task = asyncio.get_running_loop().create_task(self._loop(sv), name=f"rollout {sv.spec.name}")

    async def adopt(self, name: str, _previous_expiry: int = 0) -> None:
        """Drive the stored rollout ``name`` from here on (a cluster gave this replica its
        lease): rebuilt from its stored spec if this server does not serve it yet."""
        sv = self._served.get(name) or await self._restore(name)
        if sv is not None:
            self._ensure_loop(sv)

    async def _loop(self, sv: _Served) -> None:
        try:
            while True:
                if self.owns is None or self.owns(sv.spec.name):
                    async with sv.lock:
                        s = await sv.runner.tick(sv.plan)
                    if s.phase.finished and not s.traffic_pending:
                        return
                await self._sleep(sv)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a bug or a store failure: the rollout pauses, the server goes on
            log.exception("The loop of the rollout %r failed.", sv.spec.name)
            await self._pause_for(sv, e)

    async def _sleep(self, sv: _Served) -> None:
        sleep = asyncio.ensure_future(self.clock.sleep_until(self.clock.now_ms() + self.tick_ms))
        wake = asyncio.ensure_future(sv.wake.wait())
        try:
            await asyncio.wait({sleep, wake}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleep.cancel()
            wake.cancel()
            sv.wake.clear()

    async def _pause_for(self, sv: _Served, e: Exception) -> None:
        why = f"The rollout's loop failed: {e}" if str(e) else f"The rollout's loop failed: {type(e).__name__}."
        try:
            async with sv.lock:
                await sv.runner.pause(sv.plan, "controller", f"{why} A person must resume it.")
        except Exception:  # the store itself may be failing; the log has both errors
            log.exception("Pausing the rollout %r after its loop failed did not work either.", sv.spec.name)

    def _state(self, name: str) -> RolloutState:
        try:
            s = load(self.repo, name)
        except ControllerError as e:  # a damaged or newer stored state: named, never a 500
            raise RolloutServiceError(str(e), 409) from None
        if s is None:
            raise RolloutServiceError(f"There is no rollout named {name!r}.", 404)
        return s

    def get(self, name: str) -> dict[str, Any]:
        """The full view of the rollout ``name`` (404 if unknown)."""
        s, sv = self._state(name), self._served.get(name)
        port = self._hub.port_of(sv.proxy) if sv else None
        return full_view(s, sv.spec if sv else None, sv.plan if sv else None, self.repo.events(name), port)

    def events(self, name: str) -> list[dict[str, Any]]:
        """The rollout's events, oldest first, with their reasons and actors (404 if unknown)."""
        self._state(name)
        return [event_view(e) for e in self.repo.events(name)]

    def explain(self, name: str) -> str:
        """The text of ``sloguard rollout explain NAME``."""
        s, sv = self._state(name), self._served.get(name)
        return explain_text(s, sv.spec if sv else None, sv.plan if sv else None, self.repo.events(name))

    def proxy_port(self, service: str) -> int | None:
        """The listening port of the in-process proxy of ``service`` (None: none runs)."""
        return self._hub.port(service)

    def list(self) -> list[dict[str, Any]]:
        """Every stored rollout's summary, by name."""
        out = []
        for record in self.repo.list():
            sv = self._served.get(record.name)
            try:
                s = load(self.repo, record.name)
            except ControllerError as e:  # one unreadable record does not hide the others
                out.append({"name": record.name, "phase": record.phase, "message": str(e), "unreadable": True})
                continue
            if s is not None:
                out.append(summary(s, sv.spec if sv else None, sv.plan if sv else None))
        return out
