"""Everything ``sloguard demo`` runs besides the flows: the demo service's versions, the
sloguard server (the very one ``sloguard serve`` runs, on its embedded store, with the
demo's config and SLOs, and its rollout service) and the bounded load generator sending
requests through the built-in proxy. ``start()`` brings them up in that order and
``stop()`` takes them down in reverse, each exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import shutil
import socket
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sloguard.demo.flows import Rollouts
from sloguard.demo.load import LoadConfig, LoadGenerator
from sloguard.demo.service import PROFILES, DemoError, VersionProfile, VersionServer
from sloguard.demo.specfiles import CONFIG, SERVICE, Addresses, spec_dir

__all__ = ["FAST_PAUSE_SCALE", "DemoOptions", "DemoStack"]

_READY_TIMEOUT_S = 60.0
FAST_PAUSE_SCALE = 0.6
"""``--once``: pauses of 9, 12 and 12 s; v3's still outlast the judges' first look (30 s
after the start), so v3 is promoted only after the judges passed it."""


@dataclass(frozen=True, slots=True)
class DemoOptions:
    """What ``sloguard demo`` was asked for. ``data_dir`` None: a fresh temporary folder,
    removed at the end. ``pause_scale`` multiplies the rollouts' pauses (``--once``:
    ``FAST_PAUSE_SCALE``). ``v2_error_ratio`` and ``v2_slow_ratio`` override v2's profile
    (a test makes v2 healthy with them)."""

    host: str = "127.0.0.1"
    port: int = 9090
    data_dir: Path | None = None
    pause_scale: float = 1.0
    rps: float = 200.0
    max_in_flight: int = 64
    seed: int = 11
    v2_error_ratio: float | None = None
    v2_slow_ratio: float | None = None


def free_port(host: str) -> int:
    """A port on ``host`` that was free a moment ago."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class DemoStack:
    """See the module doc. After ``start()``: ``rollouts``, ``addresses``, ``server_url``."""

    def __init__(self, options: DemoOptions) -> None:
        self.options = options
        self.versions: dict[str, VersionServer] = {}
        self.load: LoadGenerator | None = None
        self.server: Any | None = None
        self.data_dir = options.data_dir
        self._temporary = options.data_dir is None
        self._serving: asyncio.Task[None] | None = None
        self._proxy_port = 0

    async def start(self) -> None:
        for i, (name, profile) in enumerate(PROFILES.items()):
            if name == "v2":
                profile = _override(profile, self.options)
            self.versions[name] = server = VersionServer(profile, seed=self.options.seed + i, host=self.options.host)
            await server.start()
        self._proxy_port = free_port(self.options.host)
        await self._start_server()
        o = self.options
        self.load = LoadGenerator(self._target, LoadConfig(rps=o.rps, max_in_flight=o.max_in_flight, host=o.host))
        self.load.start()

    async def _start_server(self) -> None:
        from sloguard.api._server import ServeOptions, Server
        from sloguard.config import load_config

        if self.data_dir is None:
            self.data_dir = Path(tempfile.mkdtemp(prefix="sloguard-demo-"))
        config_path = spec_dir() / CONFIG
        o = self.options
        options = ServeOptions(config_path=config_path, data_dir=self.data_dir, host=o.host, port=o.port,
                               flags={"config.file": str(config_path), "storage.tsdb.path": str(self.data_dir)})
        self.server = Server(options, load_config(config_path), out=io.StringIO())
        self._serving = asyncio.get_running_loop().create_task(self.server.run(), name="sloguard-server")
        began = time.monotonic()
        while self._rollouts_or_none() is None:
            if self._serving.done():
                why = self._serving.exception() or "it stopped before it was ready"
                raise DemoError(f"The sloguard server did not start: {why}")
            if time.monotonic() - began > _READY_TIMEOUT_S:
                raise DemoError(f"The sloguard server was not ready within {_READY_TIMEOUT_S:g} s.")
            await asyncio.sleep(0.05)

    def _rollouts_or_none(self) -> Rollouts | None:
        ctx = getattr(self.server, "ctx", None)
        if ctx is None or not ctx.ready:
            return None
        return getattr(ctx, "rollouts", None)

    def _target(self) -> int | None:
        service = self._rollouts_or_none()
        return service.proxy_port(SERVICE) if service is not None else None

    @property
    def rollouts(self) -> Rollouts:
        service = self._rollouts_or_none()
        if service is None:
            raise DemoError("The sloguard server's rollout service is not running (the server stopped?).")
        return service

    @property
    def addresses(self) -> Addresses:
        return Addresses(self._proxy_port, {n: s.address for n, s in self.versions.items()})

    @property
    def server_url(self) -> str:
        port = self.server.bound_port if self.server is not None else self.options.port
        return f"http://{self.options.host}:{port}"

    @property
    def proxy_url(self) -> str:
        return f"http://{self.options.host}:{self._proxy_port}/"

    async def wait_stopped(self) -> None:
        """Until the server stops (Ctrl-C, SIGTERM, or ``request_stop``)."""
        if self._serving is not None:
            await asyncio.wait({self._serving})

    @property
    def serving(self) -> asyncio.Task[None] | None:
        return self._serving

    async def stop(self) -> None:
        """Load generator, then server (its rollout service and proxies), then versions."""
        if self.load is not None:
            await self.load.stop()
        if self.server is not None and self._serving is not None:
            self.server.request_stop()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._serving), 30)
            if not self._serving.done():
                self._serving.cancel()
        for v in self.versions.values():
            await v.stop()
        if self._temporary and self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def _override(profile: VersionProfile, o: DemoOptions) -> VersionProfile:
    if o.v2_error_ratio is not None:
        profile = replace(profile, error_ratio=o.v2_error_ratio)
    if o.v2_slow_ratio is not None:
        profile = replace(profile, slow_ratio=o.v2_slow_ratio)
    return profile
