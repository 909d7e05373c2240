"""``remote_write:`` in ``sloguard serve``: queues from the config, their positions in
``<data dir>/remote_write``, their metrics on ``/metrics``.

Before the storage opens, position files of queues no longer configured are removed
(``prune_positions``), so the TSDB only keeps WAL segments for live queues
(``wal_keep_hook``). The queues start once the storage is open and stop before it closes.
A reload applies a changed ``remote_write`` (``reload_remote_write``): unchanged queues keep
running, removed ones stop, new and changed ones start (a changed one from its stored
position); a config that cannot be applied keeps the running queues and fails the reload.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from sloguard.config import Config

log = logging.getLogger("sloguard.server")

STATE_DIR = "remote_write"


def wal_keep_hook(data_dir: Path) -> Callable[[], int | None]:
    from sloguard.remote.write import wal_keep

    return wal_keep(data_dir / STATE_DIR, data_dir / "wal")


def prune_positions(data_dir: Path, configs: Sequence[Any]) -> None:
    """Forget the positions of queues that are not configured any more."""
    state = data_dir / STATE_DIR
    names = {c.queue_name for c in configs}
    for p in state.glob("*.json") if state.is_dir() else ():
        if p.stem not in names:
            log.info("removing the position of a remote write queue no longer configured", extra={"file": str(p)})
            p.unlink(missing_ok=True)


async def start_remote_write(config: Config, data_dir: Path, registry: CollectorRegistry | None,
                             metadata: Callable[[], list[tuple[str, str, str, str]]] | None) -> Any:
    """A started ``WriteStorage`` for ``config.remote_write`` (``None`` when empty)."""
    if not config.remote_write:
        return None
    from sloguard.labels import Labels
    from sloguard.remote.write import Metadata, WriteStorage

    source = (lambda: [Metadata(*m) for m in metadata()]) if metadata is not None else None
    ws = WriteStorage(config.remote_write, data_dir / "wal", data_dir / STATE_DIR,
                      external_labels=Labels.from_dict(config.global_.external_labels), metadata=source)
    try:
        await ws.start()
    except BaseException:
        await ws.stop()  # the queues that did start
        raise
    if registry is not None:
        registry.register(ws.collector())
    log.info("remote write started", extra={"queues": [q.name for q in ws.queues]})
    return ws


class RemoteWriteReloadError(Exception):
    """The new ``remote_write`` cannot be applied; the running queues are kept."""


async def reload_remote_write(ws: Any, config: Config, data_dir: Path, registry: CollectorRegistry | None,
                              metadata: Callable[[], list[tuple[str, str, str, str]]] | None,
                              ruler: bool = False) -> Any:
    """The ``WriteStorage`` after applying ``config.remote_write`` to ``ws`` (started now if
    the server had none); ``RemoteWriteReloadError`` keeps ``ws`` as it was."""
    from sloguard.labels import Labels
    from sloguard.remote.write import WriteConfigError

    if ruler and not config.remote_write:
        raise RemoteWriteReloadError("remote_write: the ruler mode writes rule outputs back through remote write; "
                                     "keeping the running queues")
    if ws is None:  # the server started without remote_write
        try:
            return await start_remote_write(config, data_dir, registry, metadata)
        except Exception as e:  # a client that cannot be built, an unreadable position: no queue runs
            raise RemoteWriteReloadError(f"remote_write: {e}") from None
    try:
        changes = await ws.apply(config.remote_write, Labels.from_dict(config.global_.external_labels))
    except WriteConfigError as e:
        raise RemoteWriteReloadError(f"remote_write: {e}; keeping the running queues") from None
    if any(not c.startswith("kept") for c in changes):
        log.info("remote write queues changed", extra={"changes": changes})
    return ws
