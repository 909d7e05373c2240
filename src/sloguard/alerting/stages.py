"""The notification pipeline's shape: a flush's context, the ``Stage`` protocol, and how
the dispatcher hands a flush to the pipeline.

After Alertmanager's ``notify`` package: each stage is a small object with one ``exec``;
an empty alert list ends the chain. Data a stage learns for a later one (the firing and
resolved hashes the dedup stage computed, the HA claim, the retry deadline) travels in a
new :class:`FlushContext` made with ``dataclasses.replace``, never in loose dict keys.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from sloguard._slots import fast_init
from sloguard.alerting.model import Alert
from sloguard.alerting.route import RouteOpts
from sloguard.labels import Labels

__all__ = ["Deferred", "FlushContext", "Instant", "NotifyFunc", "Stage", "StageError"]


@fast_init
@dataclass(frozen=True, slots=True)
class FlushContext:
    """One flush of one aggregation group, as it goes down the stages.

    The dispatcher sets the first six fields; ``now_ms`` is the clock when the flush began
    (every stage judges time by it, so a flush is one instant). Later stages fill the rest:
    ``integration`` (``name/type[idx]``) in the per-integration fan-out, ``firing`` and
    ``resolved`` (alert hashes, sorted) in dedup, ``flush_id`` when a replica claims the
    flush, ``deadline_ms`` after which retries stop.
    """

    group_key: str
    group_id: str
    receiver: str
    group_labels: Labels
    route: RouteOpts
    now_ms: int
    integration: str = ""
    firing: tuple[int, ...] = ()
    resolved: tuple[int, ...] = ()
    flush_id: str = ""
    deadline_ms: int | None = None

    # Hot-path copies (one flush makes several): a direct constructor call is several
    # times cheaper than ``dataclasses.replace``.
    def for_integration(self, integration: str) -> FlushContext:
        """This flush as one receiver integration's chain sees it."""
        return FlushContext(self.group_key, self.group_id, self.receiver, self.group_labels, self.route, self.now_ms,
                            integration, self.firing, self.resolved, self.flush_id, self.deadline_ms)

    def deduplicated(self, firing: tuple[int, ...], resolved: tuple[int, ...], flush_id: str) -> FlushContext:
        """This flush with the dedup stage's findings."""
        return FlushContext(self.group_key, self.group_id, self.receiver, self.group_labels, self.route, self.now_ms,
                            self.integration, firing, resolved, flush_id, self.deadline_ms)


class StageError(Exception):
    """A stage could not do its part of a flush (a receiver refused the notification, the
    state store was unavailable, a time interval is unknown); the message says which
    receiver integration and why. ``retryable`` is whether a later flush may succeed."""

    def __init__(self, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class Deferred(StageError):
    """Another replica holds this flush (HA): nothing failed, but nothing is known to be
    sent yet either, so the flush does not count as delivered (the group keeps its
    resolved alerts until a later flush finds them in the notification log)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=True)


class Stage(Protocol):
    """One step of the pipeline: returns the context and the alerts for the next step
    (none: stop here). A failure the flush should report raises :class:`StageError`."""

    async def exec(self, ctx: FlushContext, alerts: Sequence[Alert]) -> tuple[FlushContext, list[Alert]]: ...


class Instant:
    """Base of the stages that never wait (muting, time intervals): ``run`` does the work,
    and ``exec`` (the :class:`Stage` protocol) is ``run`` as a coroutine. A
    :class:`~sloguard.alerting._stage_chain.MultiStage` calls ``run`` directly: no
    coroutine is made and awaited for it at every flush."""

    __slots__ = ()

    def run(self, ctx: FlushContext, alerts: Sequence[Alert]) -> tuple[FlushContext, list[Alert]]:
        raise NotImplementedError

    async def exec(self, ctx: FlushContext, alerts: Sequence[Alert]) -> tuple[FlushContext, list[Alert]]:
        return self.run(ctx, alerts)


NotifyFunc = Callable[[FlushContext, Sequence[Alert]], Awaitable[bool]]
"""What the dispatcher calls to flush a group: True when every integration succeeded (then
the group forgets the resolved alerts it just sent, as Alertmanager does)."""
