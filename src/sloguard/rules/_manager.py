"""The rule manager: loads rule files into groups, runs each group on its own schedule,
reloads without losing alert state, and hands alerts to the ``NotifyFunc``."""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

from sloguard.clock import Clock, SystemClock
from sloguard.labels import Labels
from sloguard.rules._alerting import AlertingRule, TemplateContext
from sloguard.rules._errors import RuleFileError
from sloguard.rules._group import AnyRule, Group, Outgoing, group_key
from sloguard.rules._options import ManagerOptions
from sloguard.rules._prefetch import Prefetcher
from sloguard.rules._recording import RecordingRule
from sloguard.rules._rule import NotifyFunc, QueryFunc
from sloguard.rules._rulefmt import RuleFile, RuleSpec, load_rule_file
from sloguard.rules._shard import Ownership, slot_timestamp
from sloguard.tsdb import STALE_NAN

log = logging.getLogger("sloguard.rules")


class RuleManager:
    """Owns the groups of the loaded rule files.

    ``update(files)`` validates everything first and keeps the running rules when any
    file is bad (the error is raised and kept in ``last_reload_error``).
    """

    def __init__(
        self,
        opts: ManagerOptions,
        notify: NotifyFunc | None = None,
        clock: Clock | None = None,
        use_threads: bool = True,
    ) -> None:
        self.opts = opts
        self.notify = notify
        self.clock: Clock = clock or SystemClock()
        self.use_threads = use_threads
        self._groups: dict[str, Group] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._restored = False
        self._running = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self.files: list[str | RuleFile] = []
        self.interval_ms: int | None = None
        #: Re-resolves the file list on reload (globs); ``None`` reuses ``files``.
        self.resolver: Callable[[], Sequence[str | RuleFile]] | None = None
        self.last_reload_error: str = ""
        self.last_reload_ok: bool = True
        #: In a cluster: which groups this replica evaluates (``None``: all of them), and
        #: each group's key among the replicas (see ``_shard``).
        self.ownership: Ownership | None = None
        self.shard_key: Callable[[Group], str] = lambda g: g.key
        self._sharded: dict[str, Group] = {}
        self._owned: dict[str, bool | None] = {}  #: per shard key: owned at the last look
        self._eval_locks: dict[str, asyncio.Lock] = {}
        #: ``(file, group name) -> QueryFunc | None``: a group's own query function (an SLO
        #: that reads a named backend); ``None``: ``opts.query``.
        self.group_query: Callable[[str, str], QueryFunc | None] | None = None
        self._prefetch = Prefetcher(opts.storage)
        self._order: list[Group] = []  # groups in the order they are due within an interval
        self._pos: dict[str, int] = {}

    # -- loading
    def load_groups(self, files: Sequence[str | RuleFile], interval_ms: int | None = None) -> dict[str, Group]:
        """Build groups from files, or from already parsed :class:`RuleFile` objects (rules
        generated in-process, e.g. from SLOs; their ``path`` names them). Raises
        ``RuleFileError`` naming every problem of every file."""
        interval = interval_ms or self.opts.default_interval_ms
        out: dict[str, Group] = {}
        errors: list[str] = []
        for f in files:
            try:
                rf = f if isinstance(f, RuleFile) else load_rule_file(f)
            except RuleFileError as e:
                errors.extend(e.errors)
                continue
            for gs in rf.groups:
                rules = [self._make_rule(r) for r in gs.rules]
                query = self.group_query(rf.path, gs.name) if self.group_query is not None else None
                opts = self.opts if query is None else replace(self.opts, query=query)
                g = Group(gs.name, rf.path, gs.interval_ms or interval, gs.limit, rules, opts, gs,
                          should_restore=not self._restored)
                out[g.key] = g
        if errors:
            raise RuleFileError(errors)
        return out

    def _make_rule(self, r: RuleSpec) -> AnyRule:
        if r.alert:
            ctx = TemplateContext(dict(self.opts.external_labels), self.opts.external_url)
            return AlertingRule(r.alert, r.expr, r.for_ms, r.keep_firing_for_ms, r.labels,
                                r.annotations, ctx, restored=self._restored)
        return RecordingRule(r.record, r.expr, r.labels)

    def update(self, files: Sequence[str | RuleFile], interval_ms: int | None = None) -> None:
        """Replace the rules with those of ``files``, carrying state of unchanged rules."""
        try:
            new = self.load_groups(files, interval_ms)
        except Exception as e:
            self.last_reload_ok = False
            self.last_reload_error = str(e)
            raise
        self.files = list(files)
        self.interval_ms = interval_ms
        old = dict(self._groups)  # readers (API, other threads) keep iterating the current one
        merged: dict[str, Group] = {}
        for key, g in new.items():
            prev = old.pop(key, None)
            if prev is not None and prev.equals(g):
                merged[key] = prev
                continue
            if prev is not None:
                self._stop_group(prev, mark_stale=False)
                g.copy_state(prev)
            merged[key] = g
            if self._running:
                self._start_group(g)
        for g in old.values():
            self._stop_group(g, mark_stale=True)
        self._groups = merged
        self._schedule_order()
        self._restored = True
        self.last_reload_ok = True
        self.last_reload_error = ""

    def reload(self) -> None:
        """Re-read the current files (SIGHUP, ``POST /-/reload``); keeps the rules on error."""
        self.update(self.resolver() if self.resolver else self.files, self.interval_ms)

    # -- views
    def groups(self) -> list[Group]:
        return sorted(self._groups.values(), key=lambda g: (g.file, g.name))

    def alerting_rules(self) -> list[AlertingRule]:
        return [r for g in self.groups() for r in g.alerting_rules()]

    def group(self, file: str, name: str) -> Group | None:
        return self._groups.get(group_key(file, name))

    # -- evaluation order and read-ahead
    def _schedule_order(self) -> None:
        order = sorted(self._groups.values(), key=lambda g: (_slot_share(g), g.key))
        self._order, self._pos = order, {g.key: i for i, g in enumerate(order)}
        self._prefetch.forget()

    def _upcoming(self, g: Group) -> Iterator[Group]:
        """The groups due after ``g`` within an interval, in order (those this replica
        owns, in a cluster); lazily: a read-ahead takes what fits."""
        i = self._pos.get(g.key, -1) + 1
        owns, key = (None, None) if self.ownership is None else (self.ownership.owns, self.shard_key)
        for h in itertools.chain(itertools.islice(self._order, i, None), itertools.islice(self._order, 0, max(0, i - 1))):
            if owns is None or owns(key(h)):  # type: ignore[misc]
                yield h

    def evaluate(self, g: Group, ts: int) -> list[Outgoing]:
        """Evaluate ``g`` at ``ts`` (see ``Group.eval``), first reading ahead the block
        data of it and of the groups due after it unless an earlier read covered it
        (``Prefetcher``): a cycle decodes each frame about once, not once per group."""
        self._prefetch.before(g, ts, self._upcoming(g))
        return g.eval(ts)

    def cycle(self, at_ms: int) -> list[tuple[Group, int]]:
        """Every group with its slotted evaluation time in ``(at_ms - interval, at_ms]``,
        in time order: one cycle as the schedule runs it (for benchmarks and tools)."""
        return sorted(((g, g.eval_timestamp(at_ms)) for g in self._order), key=lambda p: (p[1], self._pos[p[0].key]))

    # -- running
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._running = True
        for g in self._groups.values():
            self._start_group(g)

    async def stop(self) -> None:
        self._running = False
        tasks = list(self._tasks.values())
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()

    def _on_loop(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the manager's event loop: directly when called there, else
        scheduled thread-safely (``update`` may run in a worker thread on SIGHUP)."""
        loop = self._loop
        try:
            current: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        if loop is None or current is loop:
            fn()
        else:
            loop.call_soon_threadsafe(fn)

    def _start_group(self, g: Group) -> None:
        def start() -> None:
            if self._loop is not None and self._running:
                run = self._run_group(g) if self.ownership is None else self._run_sharded(g, self.ownership)
                self._tasks[g.key] = self._loop.create_task(run, name=f"rules:{g.key}")

        self._on_loop(start)

    def _stop_group(self, g: Group, mark_stale: bool) -> None:
        series: list[Labels] = []
        if mark_stale and self._running:
            series = g.all_previous_series() + g.stale_series
            g.series_in_previous_eval = [set() for _ in g.rules]

        def stop() -> None:
            task = self._tasks.pop(g.key, None)
            if task is not None:
                task.cancel()
            if series and self._loop is not None:
                self._loop.create_task(self._mark_stale_later(series, g.interval_ms))

        self._on_loop(stop)

    async def _mark_stale_later(self, series: list[Labels], interval_ms: int) -> None:
        now = self.clock.now_ms()
        await self.clock.sleep_until(now + 2 * interval_ms)
        app = self.opts.storage.appender(durable=False)
        for ls in series:
            app.append(ls, now, STALE_NAN)
        app.commit()

    async def _run_group(self, g: Group) -> None:
        ts = g.eval_timestamp(self.clock.now_ms()) + g.interval_ms
        await self.clock.sleep_until(ts)
        await self._iterate(g, ts)
        if g.should_restore:
            ts = await self._next_tick(g, ts)
            await self._iterate(g, ts)
            g.restore_for_state(self.clock.now_ms())
            g.should_restore = False
        while True:
            ts = await self._next_tick(g, ts)
            await self._iterate(g, ts)

    async def _run_sharded(self, g: Group, ownership: Ownership) -> None:
        """Every slot of the group, evaluated only while this replica owns it. Coming back
        after another replica had the group, its alert state here is stale: it starts from
        none and restores ``for`` state (``ALERTS_FOR_STATE``) after its second evaluation,
        as a restart does (see ``_start_afresh``). A start or a reload keeps the state the
        group was given."""
        key = self.shard_key(g)
        self._sharded[key] = g
        self._owned[key] = None  # not looked yet (a start or a reload)
        lock = self._eval_locks.setdefault(key, asyncio.Lock())
        ts = slot_timestamp(self.clock.now_ms(), g.interval_ms, key) + g.interval_ms
        await self.clock.sleep_until(ts)
        spell = 0
        while True:
            if ownership.owns(key):
                self._begin_spell(key, g)
                async with lock:  # not beside a catch-up evaluation of the same group
                    await self._iterate(g, ts)
                spell += 1
                if spell == 2 and g.should_restore:
                    g.restore_for_state(self.clock.now_ms())
                    g.should_restore = False
            else:
                self._owned[key], spell = False, 0
            ts = await self._next_tick(g, ts)

    def _begin_spell(self, key: str, g: Group) -> None:
        if self._owned.get(key) is False:
            _start_afresh(g)
        self._owned[key] = True

    def catch_up(self, key: str, free_from_ms: int) -> None:
        """This replica just took the group ``key`` over from a holder whose lease ended at
        ``free_from_ms``: evaluate now its latest slot if that came at or after then (the
        old holder cannot have evaluated it: its ownership ended before its lease did), so a
        take-over misses one slot fewer. Nothing for an unknown group or an older slot. The
        evaluation starts the new spell (no alert state left from an earlier one)."""
        g = self._sharded.get(key)
        if g is None or self._loop is None or not self._running:
            return
        ts = slot_timestamp(self.clock.now_ms(), g.interval_ms, key)
        done = g.last_evaluation_s is not None and g.last_evaluation_s * 1000 >= ts
        if ts >= free_from_ms and not done:
            self._begin_spell(key, g)
            self._loop.create_task(self._catch_up(key, g, ts), name=f"rules:{key}:catch-up")

    async def _catch_up(self, key: str, g: Group, ts: int) -> None:
        async with self._eval_locks.setdefault(key, asyncio.Lock()):
            await self._iterate(g, ts)

    async def _next_tick(self, g: Group, ts: int) -> int:
        await self.clock.sleep_until(ts + g.interval_ms)
        missed = max(0, (self.clock.now_ms() - ts) // g.interval_ms - 1)
        return ts + (missed + 1) * g.interval_ms

    async def _iterate(self, g: Group, ts: int) -> None:
        """One evaluation; nothing that goes wrong in it may stop the group's loop."""
        try:
            if self.use_threads:
                outgoing = await asyncio.to_thread(self.evaluate, g, ts)
            else:
                outgoing = self.evaluate(g, ts)
            await self._send(outgoing)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - logged; the next interval tries again
            log.exception("rule group evaluation failed", extra={"group": g.key, "ts": ts})

    async def _send(self, outgoing: list[Outgoing]) -> None:
        if self.notify is None:
            return
        for o in outgoing:
            res = self.notify(o.expr, o.alerts)
            if inspect.isawaitable(res):
                await res


def _start_afresh(g: Group) -> None:
    """A group coming back to this replica after another held it: as after a restart, no
    alerts, no ``ALERTS``/``ALERTS_FOR_STATE`` written until the restore (it would read its
    own fresh ``activeAt`` back), and no series of the old spell to mark stale (the other
    holder wrote since; stale markers now would end its series and hide its ``for`` state)."""
    for rule in g.alerting_rules():
        rule.active.clear()
        rule.restored = False
    g.series_in_previous_eval = [set() for _ in g.rules]
    g.stale_series = []
    g.should_restore = bool(g.alerting_rules())


def _slot_share(g: Group) -> float:
    """Where in its interval ``g`` is due (0 to 1), as ``Group.eval_timestamp`` slots it."""
    interval_ns = g.interval_ms * 1_000_000
    return (g.hash() % interval_ns) / interval_ns
