"""A traffic router driving a real nginx: it renders upstream weights, a ``map`` per
header or cookie route and a ``mirror`` for mirroring, writes the config atomically after
``nginx -t`` accepts it, and hot-reloads with ``nginx -s reload`` (old workers finish
their requests). ``verify_weight`` reads back the weights the live config was rendered
for. Sticky sessions need nginx Plus (``sticky cookie``), so ``supports`` says no.

With ``main_conf`` None the router owns a whole ``nginx.conf`` under ``prefix`` (and
``start``/``stop`` run nginx with ``-p prefix -c conf``); otherwise it writes the
http-level snippet to ``conf`` for the user's ``nginx.conf`` to include, and tests and
reloads ``main_conf``.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from sloguard.delivery.routers._files import read_text, write_atomic
from sloguard.delivery.routers._nginx_render import (
    MARKER,
    Servers,
    marker,
    render_http,
    render_main,
)
from sloguard.delivery.routers._types import (
    Desired,
    Feature,
    HeaderRoute,
    MirrorRoute,
    RouterError,
    WeightDestination,
)

_SUPPORTED = frozenset({Feature.WEIGHT, Feature.HEADER_ROUTE, Feature.COOKIE_ROUTE, Feature.MIRROR,
                        Feature.ADDITIONAL_DESTINATIONS})


@dataclass(frozen=True, slots=True)
class NginxConfig:
    """nginx in front of ``service``: ``stable``/``canary`` (and ``extra`` versions, by name)
    are ``host:port`` lists; ``listen`` is nginx's listen argument. ``user`` is rendered as
    nginx's ``user`` directive when set (needed when nginx starts as root)."""

    service: str
    prefix: Path
    stable: tuple[str, ...]
    canary: tuple[str, ...]
    listen: str = "127.0.0.1:8080"
    conf: str = "nginx.conf"
    main_conf: Path | None = None
    extra: tuple[tuple[str, tuple[str, ...]], ...] = ()
    binary: str = "nginx"
    user: str | None = None
    worker_processes: int = 1
    keepalive: int = 32
    timeout_s: float = 10.0


class NginxRouter:
    """``TrafficRouter`` for nginx. Each change: render, ``nginx -t``, replace, reload."""

    TYPE: ClassVar[str] = "nginx"

    def __init__(self, config: NginxConfig) -> None:
        self.config = config
        self._where = f"nginx router for service {config.service!r}"
        if not config.stable or not config.canary:
            raise RouterError(f"{self._where}: both stable and canary need at least one host:port server.")
        self._var = "sg_" + re.sub(r"[^a-z0-9_]", "_", config.service.lower())
        self._desired = Desired()

    @property
    def conf_path(self) -> Path:
        return self.config.prefix / self.config.conf

    @property
    def desired(self) -> Desired:
        return self._desired

    # -- process ------------------------------------------------------------------------

    def start(self) -> None:
        """Render the current state and start nginx (owned config only)."""
        self._apply(self._desired, reload=False)
        self._nginx(["-p", str(self.config.prefix), "-c", str(self.conf_path)], "start nginx")

    def stop(self) -> None:
        self._nginx(self._target() + ["-s", "quit"], "stop nginx")

    def _target(self) -> list[str]:
        conf = self.config.main_conf or self.conf_path
        return ["-p", str(self.config.prefix), "-c", str(conf)]

    def _nginx(self, args: list[str], what: str) -> None:
        try:
            proc = subprocess.run([self.config.binary, *args], capture_output=True, text=True,
                                  timeout=self.config.timeout_s)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise RouterError(f"{self._where}: cannot {what} with {self.config.binary!r}: {e}", retryable=True) from e
        if proc.returncode != 0:
            tail = " ".join(proc.stderr.strip().splitlines()[-3:])
            raise RouterError(f"{self._where}: {what} failed (exit {proc.returncode}): {tail}",
                              retryable=what != "test the config")

    # -- rendering ----------------------------------------------------------------------

    def render(self, d: Desired) -> str:
        """The text written to ``conf`` for state ``d``."""
        c = self.config
        extra = dict(c.extra)
        versions = [(Servers("stable", c.stable), d.stable_weight), (Servers("canary", c.canary), d.canary_weight)]
        versions += [(Servers(x.version, extra[x.version]), x.weight) for x in d.additional]
        http = render_http(self._var, c.listen, versions, d, c.keepalive, self._where)
        if c.main_conf is not None:
            return http
        prefix = str(c.prefix.resolve())
        return render_main(http, prefix, c.user, c.worker_processes)

    def _apply(self, d: Desired, reload: bool = True) -> None:
        """Render, test, install, reload. If the reload fails the previous file is put back,
        so the file on disk (what ``verify_weight`` reads) is what nginx last loaded."""
        text = self.render(d)
        (self.config.prefix / "tmp").mkdir(parents=True, exist_ok=True)
        old = read_text(self.conf_path, self._where)
        if self.config.main_conf is None:
            candidate = self.conf_path.with_name(self.conf_path.name + ".new")
            write_atomic(candidate, text, self._where)
            try:
                self._nginx(["-t", "-q", "-p", str(self.config.prefix), "-c", str(candidate)], "test the config")
            finally:
                candidate.unlink(missing_ok=True)
            write_atomic(self.conf_path, text, self._where)
        else:
            write_atomic(self.conf_path, text, self._where)
            self._guarded(["-t", "-q", *self._target()], "test the config", old)
        if reload:
            self._guarded(self._target() + ["-s", "reload"], "reload nginx", old)
        self._desired = d

    def _guarded(self, args: list[str], what: str, old: str | None) -> None:
        """Run nginx; on failure put the previous config file back, then raise."""
        try:
            self._nginx(args, what)
        except RouterError:
            if old is None:
                self.conf_path.unlink(missing_ok=True)
            else:
                write_atomic(self.conf_path, old, self._where)
            raise

    # -- TrafficRouter ------------------------------------------------------------------

    def supports(self, feature: Feature) -> bool:
        return feature in _SUPPORTED

    def set_weight(self, canary_weight: int, additional: tuple[WeightDestination, ...] = ()) -> None:
        for x in additional:
            if x.version not in dict(self.config.extra):
                raise RouterError(f"{self._where}: additional destination {x.version!r} has no servers in the config's extra.")
        self._apply(self._desired.with_weight(canary_weight, additional, self._where))

    def set_header_route(self, route: HeaderRoute) -> None:
        self._apply(self._desired.with_header_route(route, self._where))

    def set_mirror_route(self, route: MirrorRoute) -> None:
        self._apply(self._desired.with_mirror_route(route, self._where))

    def remove_managed_routes(self) -> None:
        self._apply(self._desired.without_routes())

    def verify_weight(self, canary_weight: int, additional: tuple[WeightDestination, ...] = ()) -> bool | None:
        """Whether the config on disk (the one nginx was last reloaded with) was rendered
        for these weights; None if there is no config to read."""
        text = read_text(self.conf_path, self._where)
        if text is None or not text.startswith(MARKER):
            return None
        want = marker(Desired(canary_weight=canary_weight, additional=additional))
        return text.splitlines()[0] == want
