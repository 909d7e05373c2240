"""What every HTTP handler can reach: storage, engine, scrape manager, settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sloguard.ingest.remote_write import ReceiverStats
from sloguard.tsdb import Storage


@dataclass
class ServerContext:
    """Shared by all route modules (``routes(ctx)``). Fields may be added with defaults."""

    storage: Storage
    engine: Any | None = None  # sloguard.promql.Engine once the query API exists
    scrape_manager: Any | None = None
    rule_manager: Any | None = None
    # The SLOs loaded from the config's slo_files (sloguard.slo.SLO), for /api/v1/slos.
    slos: list[Any] = field(default_factory=list)
    max_write_body_bytes: int = 32 * 1024 * 1024
    ready: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    # The loaded sloguard.config.Config (for /api/v1/status/config), and the command-line
    # flags as Prometheus shows them in /api/v1/status/flags.
    config: Any | None = None
    flags: dict[str, str] = field(default_factory=dict)
    # Serve the bundled demo target at /demo/metrics.
    serve_demo: bool = True
    # Answer 503 to everything but /-/healthy, /-/ready and /metrics until ``ready``
    # (the server sets this; apps built for tests serve at once).
    gate_until_ready: bool = False
    # Seconds since the epoch when the server started (for build/runtime info).
    start_time: float = 0.0
    # Counted by the remote-write endpoint, exposed on /metrics.
    remote_write_stats: ReceiverStats = field(default_factory=ReceiverStats)
    # The web config (sloguard.api._webconfig.WebConfig: TLS, authentication, headers) and
    # the counters of connections closed at the edge (sloguard.api._edge.EdgeStats).
    web_config: Any | None = None
    edge_stats: Any | None = None
    # The running alerting pipeline (sloguard.alerting.service.AlertingService) behind the
    # Alertmanager v2 API; None: those endpoints answer 503 saying how to enable it.
    alerting: Any | None = None
    # The served rollouts (sloguard.delivery.service.RolloutService) behind /api/v1/rollouts;
    # None: those endpoints answer 503.
    rollouts: Any | None = None
