"""sloguard's HTTP app over a FakeAlerting, served by uvicorn on 127.0.0.1 (for real clients)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from sloguard.alerting.testing import FakeAlerting
from sloguard.api import ServerContext, create_app
from sloguard.clock import SystemClock
from sloguard.tsdb.testing import MemoryStorage
from tests._net import free_port


@contextmanager
def serve_fake(config: str, tmp: Path) -> Iterator[tuple[str, FakeAlerting]]:
    """Yield the base URL and the fake behind it (on the system clock)."""
    fake = FakeAlerting(config, tmp / "state.db", SystemClock())
    app = create_app(ServerContext(storage=MemoryStorage(), alerting=fake))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(250):  # bounded wait for the server to come up
        if server.started:
            break
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", fake
    finally:
        server.should_exit = True
        thread.join(5)
        fake.close()
