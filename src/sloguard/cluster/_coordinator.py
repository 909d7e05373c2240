"""The replica's part in the cluster: heartbeat, its share of the keys, their leases.

Each round (every ``heartbeat_ms``) the coordinator, in one worker thread:

1. renews its row in ``cluster_members`` (live for ``lease_ttl_ms``) and reads the live rows;
2. computes its share of the keys (rule groups, rollouts) by rendezvous hashing over them;
3. releases the leases it holds outside its share (a joining replica gets them next round),
   renews all the others in one statement and takes the free or expired ones of its share
   in one more.

It then *owns* the keys it holds until ``round start + lease_ttl_ms - safety_ms`` on its own
monotonic clock. That deadline falls before the database lets anyone else take the lease
(the lease was renewed after the round started, and expires ``lease_ttl_ms`` after that on
the database's clock), so a replica that cannot reach the database stops evaluating before
another one may start: no key is worked on by two replicas for the same time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sloguard.clock import Clock
from sloguard.cluster._hashing import owner
from sloguard.cluster._model import (
    LEASE_PREFIX,
    ClusterOptions,
    ClusterStore,
    MonotonicClock,
    Round,
    Source,
)
from sloguard.state import StateError

log = logging.getLogger("sloguard.cluster")

__all__ = ["Coordinator"]

T = TypeVar("T")

RunDb = Callable[..., Awaitable[Any]]


@dataclass(slots=True)
class _Ownership:
    held: frozenset[str] = frozenset()
    deadline_ms: int = 0
    members: tuple[str, ...] = ()
    addresses: tuple[tuple[str, str], ...] = ()
    reachable: bool = True
    rounds: int = 0
    failures: int = 0
    last_error: str = ""
    sources: list[Source] = field(default_factory=list)


class Coordinator:
    """Membership, sharding and leases for one replica; :meth:`owns` is what loops ask."""

    def __init__(self, store: ClusterStore, options: ClusterOptions, clock: Clock | None = None,
                 run_db: RunDb | None = None) -> None:
        self.store = store
        self.options = options
        self.clock: Clock = clock or MonotonicClock()
        # its own threads: a round stuck on a partitioned connection must not take the
        # threads rule evaluation and the API run on
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="cluster-db") if run_db is None else None
        self._run_db: RunDb = run_db or self._in_pool
        self._state = _Ownership()
        self._task: asyncio.Task[None] | None = None
        self._watchers: list[Callable[[list[tuple[str, str]]], Awaitable[None]]] = []

    # -- what loops ask
    def owns(self, key: str) -> bool:
        """Whether this replica may work on ``key`` now (it holds the lease, and its
        deadline has not passed)."""
        s = self._state
        return key in s.held and self.clock.now_ms() < s.deadline_ms

    def watch_members(self, watcher: Callable[[list[tuple[str, str]]], Awaitable[None]]) -> None:
        """Call ``watcher`` with the (name, address) of members that appeared, after each
        round that saw some."""
        self._watchers.append(watcher)

    def add_source(self, source: Source) -> None:
        """Share out ``source``'s keys too (from the next round)."""
        self._state.sources.append(source)

    @property
    def name(self) -> str:
        return self.options.name

    @property
    def members(self) -> tuple[str, ...]:
        """The live members as of the last round that reached the database."""
        return self._state.members

    def peers(self) -> list[tuple[str, str]]:
        """The other live members as (name, address), as of the last round."""
        return [(n, a) for n, a in self._state.addresses if n != self.options.name]

    @property
    def held(self) -> frozenset[str]:
        """The keys owned now (empty once the deadline passed)."""
        s = self._state
        return s.held if self.clock.now_ms() < s.deadline_ms else frozenset()

    @property
    def reachable(self) -> bool:
        """Whether the last round reached the state database."""
        return self._state.reachable

    @property
    def last_error(self) -> str:
        return self._state.last_error

    # -- rounds
    def keys(self) -> dict[str, Source]:
        """Every key to share out, with its source."""
        out: dict[str, Source] = {}
        for source in self._state.sources:
            for key in source.list_keys():
                out.setdefault(key, source)
        return out

    async def tick(self) -> Round | None:
        """One round; None when the database could not be reached (ownership then ends at
        the deadline already set: nothing is renewed)."""
        started = self.clock.now_ms()
        try:
            done: tuple[Round, dict[str, Source]] = await asyncio.wait_for(self._run_db(self._round), self._patience_s)
        except StateError as e:
            self._unreachable(str(e))
            return None
        except TimeoutError:
            self._unreachable(f"The state database did not answer within {self._patience_s:g} s.")
            return None
        found, keys = done
        joined = set(found.addresses) - set(self._state.addresses)
        self._reached(found, started)
        for watcher in self._watchers if joined else ():
            await _quietly(watcher(sorted(joined)), "members")
        for taken in found.taken:
            key = taken.lease.name.removeprefix(LEASE_PREFIX)
            source = keys.get(key)
            if source is not None and source.on_acquire is not None:
                await _quietly(source.on_acquire(key, taken.previous_expiry), key)
        return found

    def _round(self) -> tuple[Round, dict[str, Source]]:
        """The round's database work (in a worker thread: sources may read the database too)."""
        o, s = self.options, self._state
        keys = self.keys()
        self.store.members.heartbeat(o.name, o.address, o.lease_ttl_ms)
        records = self.store.members.records()
        members = tuple(m.name for m in records)
        live = members if o.name in members else (*members, o.name)
        mine = {LEASE_PREFIX + k for k in keys if owner(k, live) == o.name}
        leases = self.store.leases
        giving_up = {LEASE_PREFIX + k for k in s.held} - mine
        if giving_up:  # stop owning them before another replica can take them
            s.held = frozenset(k for k in s.held if LEASE_PREFIX + k not in giving_up)
            leases.release_many(giving_up, o.name)
        renewing_at = self.clock.now_ms()  # before the database stamps the new expiries
        renewed = {lease.name for lease in leases.renew_held(o.name, o.lease_ttl_ms, LEASE_PREFIX)}
        leases.release_many(renewed - mine, o.name)  # held from before a restart, no longer ours
        taken = leases.acquire_many(mine - renewed, o.name, o.lease_ttl_ms)
        held = frozenset(k.removeprefix(LEASE_PREFIX) for k in (renewed & mine) | {t.lease.name for t in taken})
        addresses = tuple((m.name, m.address) for m in records)
        return Round(members, held, tuple(taken), addresses, renewing_at, len(giving_up)), keys

    def _reached(self, found: Round, started: int) -> None:
        s = self._state
        if not s.reachable:
            log.warning("cluster: the state database is reachable again; this replica takes its share back",
                        extra={"replica": self.options.name, "members": len(found.members)})
        if found.members != s.members:
            log.info("cluster: members changed", extra={"replica": self.options.name, "members": list(found.members),
                                                        "keys_held": len(found.held)})
        if found.taken or found.given_up:
            log.info("cluster: share changed", extra={"replica": self.options.name, "taken": len(found.taken),
                                                      "given_up": found.given_up, "keys_held": len(found.held)})
        s.held, s.members, s.reachable, s.last_error = found.held, found.members, True, ""
        s.addresses = found.addresses
        s.deadline_ms = (found.renewing_at or started) + self.options.lease_ttl_ms - self.options.margin_ms
        s.rounds += 1

    @property
    def _patience_s(self) -> float:
        """How long a round may take before it counts as failed (the lease's ttl)."""
        return self.options.lease_ttl_ms / 1000

    async def _in_pool(self, fn: Callable[..., T], *args: Any) -> T:
        assert self._pool is not None  # set whenever no run_db was injected
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def _unreachable(self, e: str) -> None:
        s = self._state
        s.failures += 1
        s.last_error = e
        if s.reachable:
            log.error("cluster: cannot reach the state database; this replica stops evaluating its %d keys "
                      "when its leases' deadline passes, in %d ms: %s", len(s.held),
                      max(0, s.deadline_ms - self.clock.now_ms()), e, extra={"replica": self.options.name})
        s.reachable = False

    # -- life cycle
    async def start(self) -> None:
        """Run the first round now (so the share is known before loops start), then every
        ``heartbeat_ms`` on a background task."""
        await self.tick()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="cluster-coordinator")

    async def _run(self) -> None:
        while True:
            await self.clock.sleep_until(self.clock.now_ms() + self.options.heartbeat_ms)
            try:
                await self.tick()
            except Exception:  # a bug must not end membership silently: logged, next round tries again
                log.exception("cluster: a coordination round failed", extra={"replica": self.options.name})

    async def stop(self) -> None:
        """Stop the rounds, give up every lease and leave (others take over at once)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        held = {LEASE_PREFIX + k for k in self._state.held}
        self._state.held, self._state.deadline_ms = frozenset(), 0
        try:
            await asyncio.wait_for(self._run_db(self._leave, held), self._patience_s)
        except (StateError, TimeoutError) as e:
            log.warning("cluster: could not release leases at shutdown; they expire on their own: %s",
                        str(e) or "the state database did not answer in time")
        if self._pool is not None:
            self._pool.shutdown(wait=False)

    def _leave(self, held: set[str]) -> None:
        self.store.leases.release_many(held, self.options.name)
        self.store.members.leave(self.options.name)


async def _quietly(job: Awaitable[None], key: str) -> None:
    try:
        await job
    except Exception:  # one key's take-over hook failing must not stop the others
        log.exception("cluster: taking over a key failed", extra={"key": key})
