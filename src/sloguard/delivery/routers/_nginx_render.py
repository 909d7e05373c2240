"""Rendering of the nginx router's config (pure functions of the config and what was asked).

Three upstream groups per service: ``weighted`` (every version's servers, weights in
proportion to the version weights; servers of a version at 0 marked ``down``),
``stable`` and ``canary``. Each route match becomes a ``map`` to a 0/1 flag; one ``map``
over the concatenated flags picks the group (header/cookie routes go to ``canary``), and
another decides whether the ``mirror`` subrequest copies the request to ``canary``
(``split_clients`` on ``$request_id`` gives a mirror route its percentage).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from sloguard.delivery.routers._types import Desired, MatchKind, RouteMatch, RouterError

MARKER = "# sloguard-managed"


@dataclass(frozen=True, slots=True)
class Servers:
    """One version's name and ``host:port`` upstream servers."""

    name: str
    servers: tuple[str, ...]


def quote(value: str, where: str) -> str:
    """An nginx double-quoted string; RouterError for text nginx could misread."""
    if any(c in value for c in '"\\') or any(ord(c) < 0x20 for c in value):
        raise RouterError(f"{where}: the value {value!r} holds a quote, backslash or control character, "
                          "which the nginx router does not write into its config.")
    return f'"{value}"'


def _source(m: RouteMatch, where: str) -> str:
    if m.cookie:
        if not re.fullmatch(r"[A-Za-z0-9_]+", m.name):
            raise RouterError(f"{where}: {m.describe()}: nginx reads cookies as $cookie_NAME, "
                              "so the name must be letters, digits or '_'.")
        return "$cookie_" + m.name
    return "$http_" + m.name.lower().replace("-", "_")


def _key(m: RouteMatch, where: str) -> str:
    if m.kind is MatchKind.EXACT:
        return quote(m.value, where)
    if m.kind is MatchKind.PREFIX:
        return quote("~^" + re.escape(m.value), where)
    return quote("~" + m.value, where)


def _flag_maps(prefix: str, matches: tuple[RouteMatch, ...], where: str) -> tuple[list[str], str]:
    lines, flags = [], ""
    for i, m in enumerate(matches):
        var = f"${prefix}_{i}"
        lines += [f"map {_source(m, where)} {var} {{", "    default 0;", f"    {_key(m, where)} 1;", "}"]
        flags += var
    return lines, flags


def _server_weights(versions: list[tuple[Servers, int]]) -> list[tuple[str, int]]:
    """Integer per-server weights proportional to each version's weight (0: down)."""
    lcm = math.lcm(*(len(s.servers) for s, _ in versions))
    raw = [(addr, w * lcm // len(s.servers)) for s, w in versions for addr in s.servers]
    g = math.gcd(*(w for _, w in raw if w)) or 1
    return [(addr, w // g) for addr, w in raw]


def render_upstreams(svc: str, versions: list[tuple[Servers, int]], keepalive: int) -> list[str]:
    lines = [f"upstream {svc}_weighted {{"]
    lines += [f"    server {a} weight={w};" if w else f"    server {a} down;" for a, w in _server_weights(versions)]
    lines += [f"    keepalive {keepalive};", "}"]
    for role, (s, _) in zip(("stable", "canary"), versions[:2], strict=True):
        lines += [f"upstream {svc}_{role} {{", *(f"    server {a};" for a in s.servers), f"    keepalive {keepalive};", "}"]
    return lines


def render_routes(svc: str, d: Desired, where: str) -> list[str]:
    """Flag maps and the map choosing the upstream group (``$<svc>_upstream``)."""
    lines: list[str] = []
    keys: list[str] = []
    for r, route in enumerate(d.header_routes):
        more, flags = _flag_maps(f"{svc}_h{r}", route.matches, f"{where}: header route {route.name!r}")
        lines += more
        keys.append(flags)
    source = f'"{":".join(keys)}"' if keys else "$host"
    lines += [f"map {source} ${svc}_upstream {{", f"    default {svc}_weighted;"]
    for r, route in enumerate(d.header_routes):
        pattern = ":".join("1" * len(x.matches) if i == r else "[01]*" for i, x in enumerate(d.header_routes))
        lines.append(f'    "~^{pattern}$" {svc}_canary;  # {route.name}')
    return lines + ["}"]


def render_mirrors(svc: str, d: Desired, where: str) -> list[str]:
    """Flag maps, percentage splits and the map deciding ``$<svc>_mirror`` (1: copy)."""
    lines: list[str] = []
    keys: list[str] = []
    for r, route in enumerate(d.mirror_routes):
        more, flags = _flag_maps(f"{svc}_m{r}", route.matches, f"{where}: mirror route {route.name!r}")
        lines += more + [f'split_clients "${{request_id}}" ${svc}_ms{r} {{', f"    {route.percentage}% 1;", '    * 0;', "}"]
        keys.append(flags + f"${svc}_ms{r}")
    lines += [f'map "{":".join(keys)}" ${svc}_mirror {{', "    default 0;"]
    for r, route in enumerate(d.mirror_routes):
        pattern = ":".join("1" * (len(x.matches) + 1) if i == r else "[01]*" for i, x in enumerate(d.mirror_routes))
        lines.append(f'    "~^{pattern}$" 1;  # {route.name}')
    return lines + ["}"]


def render_server(svc: str, listen: str, mirroring: bool) -> list[str]:
    proxy = ["proxy_http_version 1.1;", 'proxy_set_header Connection "";', "proxy_set_header Host $host;",
             "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;"]
    lines = ["server {", f"    listen {listen};", "    location / {"]
    if mirroring:
        lines += ["        mirror /_sloguard_mirror;", "        mirror_request_body on;"]
    lines += [*("        " + p for p in proxy), f"        proxy_pass http://${svc}_upstream;", "    }"]
    if mirroring:
        lines += ["    location = /_sloguard_mirror {", "        internal;",
                  f'        if (${svc}_mirror = "0") {{ return 204; }}',
                  *("        " + p for p in proxy), f"        proxy_pass http://{svc}_canary$request_uri;", "    }"]
    return lines + ["}"]


def marker(d: Desired) -> str:
    """The first line of a rendered config: what it was rendered for, read back by verify."""
    extra = ",".join(f"{x.version}={x.weight}" for x in d.additional if x.weight)
    return f"{MARKER} canary_weight={d.canary_weight} additional={extra}"


def render_http(svc: str, listen: str, versions: list[tuple[Servers, int]], d: Desired, keepalive: int, where: str) -> str:
    """The http-level snippet: upstreams, maps and the server block."""
    lines = [marker(d), *render_upstreams(svc, versions, keepalive), *render_routes(svc, d, where)]
    if d.mirror_routes:
        lines += render_mirrors(svc, d, where)
    lines += render_server(svc, listen, bool(d.mirror_routes))
    return "\n".join(lines) + "\n"


def render_main(http: str, prefix: str, user: str | None, workers: int) -> str:
    """A whole nginx.conf around the snippet, every path inside ``prefix``."""
    temp = "".join(f"    {k}_temp_path {prefix}/tmp/{k};\n" for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    head = (f"{http.splitlines()[0]}\n" + (f"user {user};\n" if user else "")
            + f"worker_processes {workers};\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log warn;\n"
            + "events {\n    worker_connections 4096;\n}\nhttp {\n    access_log off;\n" + temp)
    return head + "".join("    " + line + "\n" if line else "\n" for line in http.splitlines()) + "}\n"
