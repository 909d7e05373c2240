"""Where the server reads and what the rules write to: the embedded store, or a query
backend (``query_backend:``/``remote_read:``), and the ruler mode (``mode: ruler``).

With a backend, the engine the API, UI, SLO budgets, analyses and rules use is a
``sloguard.remote.RemoteEngine``; rules write their outputs to the local TSDB, from whose
WAL the remote-write queue sends them to the backend, and restore ``for`` state from the
backend. In ruler mode the local TSDB keeps only :data:`RULER_RETENTION` (the write
queue's WAL and head: enough to resend after a backend outage), in blocks of
:data:`RULER_BLOCK`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sloguard.config import Config, QuerySettings, ServerMode, TSDBSettings
from sloguard.httpclient import with_directory
from sloguard.tsdb import Storage

log = logging.getLogger("sloguard.server")

RULER_RETENTION = 2 * 3_600_000  #: ms of samples the ruler keeps locally (the write queue's reach)
RULER_BLOCK = 3_600_000


@dataclass(frozen=True, slots=True)
class Reads:
    """The engine everything reads through, and the storage and query function the rules use
    (``rule_query`` is ``None`` for the embedded engine: the rules build their own)."""

    engine: Any
    rule_storage: Storage
    rule_query: Any = None


def ruler_tsdb(config: Config) -> TSDBSettings:
    """The local TSDB settings: the config's, or the ruler's short retention."""
    tsdb = config.storage.tsdb
    if config.mode is not ServerMode.RULER:
        return tsdb
    log.info("ruler mode: the local TSDB keeps only the write queue's recent samples",
             extra={"retention_ms": RULER_RETENTION})
    return tsdb.model_copy(update={"retention_time": RULER_RETENTION, "block_duration": RULER_BLOCK})


def reads(config: Config, storage: Storage, query: QuerySettings, config_file: Path | None,
          write_storage: Any = None, wal_dir: Path = Path("wal"), registry: Any = None) -> Reads:
    """The server's reads for ``config``: embedded (``make_engine``) or the backend's, with
    read-your-writes over ``write_storage`` (a started ``sloguard.remote.write.WriteStorage``).
    Call it on the event loop the queues run on."""
    from sloguard.api._engine_setup import make_engine

    backend = config.backend()
    if backend is None:
        return Reads(make_engine(storage, query), storage)
    from sloguard.remote import RemoteEngine
    from sloguard.remote._ruler import NoWriteBack, RuleQuery, RulerStorage, WriteBack

    if config_file is not None:
        backend = replace(backend, http=with_directory(backend.http, str(config_file.parent)))
    engine = RemoteEngine(backend)
    if write_storage is not None:
        from sloguard.remote._sync import QueueSync

        write_back: WriteBack = QueueSync(lambda: write_storage.queues, wal_dir, asyncio.get_running_loop())
    else:
        write_back = NoWriteBack()
        log.warning("query_backend without remote_write: rule outputs stay in the local store, and rules that "
                    "read other rules' outputs will not find them in the backend", extra={"backend": backend.url})
    from sloguard.labels import Labels

    external = Labels.from_dict(config.global_.external_labels) if write_storage is not None else None
    rule_storage = RulerStorage(storage, engine, external)
    log.info("reading from the query backend", extra={"backend": backend.url, "mode": config.mode.value})
    rule_query = RuleQuery(engine, rule_storage, write_back)
    if registry is not None:
        from sloguard.remote._rmetrics import RemoteReadCollector

        registry.register(RemoteReadCollector(engine, rule_query))
    return Reads(engine, rule_storage, rule_query)
