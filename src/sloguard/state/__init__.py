"""Durable state (silences, the notification log, leases, peers, rollouts, the alert history) in SQLite or PostgreSQL.

Open it with :func:`open_store` (a URL, or the data directory's ``state.db``); every
repository write is committed before it returns. The silence model is
:mod:`sloguard.alerting.silence_match`'s, re-exported here. See docs/state.md.
"""

from sloguard.alerting.silence_match import Silence, SilenceMatcher, SilenceState
from sloguard.state._errors import (
    InvalidSilence,
    NotFound,
    SchemaError,
    StateError,
    StateUnavailable,
    StateURLError,
)
from sloguard.state._schema import MIGRATIONS, Migration
from sloguard.state.alert_history import AlertHistoryRepository, HistoryEvent, HistoryKind
from sloguard.state.leases import Lease, LeaseRepository, Taken
from sloguard.state.nflog import NflogEntry, NflogReceiver, NotificationLog
from sloguard.state.peers import PeerRecord, PeerRegistry
from sloguard.state.rollouts import (
    Override,
    RevisionConflict,
    RolloutEvent,
    RolloutRecord,
    RolloutRepository,
)
from sloguard.state.silences import SilenceRepository
from sloguard.state.store import (
    DEFAULT_FILE,
    SqlStateStore,
    StateStore,
    default_url,
    open_store,
    wall_clock_ms,
)

__all__ = [
    "DEFAULT_FILE",
    "AlertHistoryRepository",
    "MIGRATIONS",
    "HistoryEvent",
    "HistoryKind",
    "InvalidSilence",
    "Lease",
    "LeaseRepository",
    "Migration",
    "NflogEntry",
    "NflogReceiver",
    "NotFound",
    "NotificationLog",
    "Override",
    "PeerRecord",
    "PeerRegistry",
    "RevisionConflict",
    "RolloutEvent",
    "RolloutRecord",
    "RolloutRepository",
    "SchemaError",
    "Silence",
    "SilenceMatcher",
    "SilenceRepository",
    "SilenceState",
    "SqlStateStore",
    "StateError",
    "StateStore",
    "StateURLError",
    "StateUnavailable",
    "Taken",
    "default_url",
    "open_store",
    "wall_clock_ms",
]
