"""`sloguard serve`: run the server on the embedded store."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sloguard._gctune import tune_for_server
from sloguard.durations import DurationError, parse_duration_ms
from sloguard.log import LogFormat, configure, parse_level

if TYPE_CHECKING:  # the config model and the api package load when the server starts, not for `--help`
    from sloguard.api._edge import EdgeLimits
    from sloguard.api._webconfig import WebConfig
    from sloguard.config import Config

BUNDLED_CONFIG = "examples/sloguard.yml"
_BUNDLED_LISTEN = "127.0.0.1:9090"


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:9090``, ``:9090`` for all interfaces) -> (host, port)."""
    host, sep, port_text = value.rpartition(":")
    if not sep or not port_text.isdigit() or int(port_text) > 65535:
        raise ValueError(f"invalid --listen {value!r}: expected HOST:PORT such as 127.0.0.1:9090")
    host = host.strip("[]") or "0.0.0.0"
    return host, int(port_text)


def self_address(host: str, port: int) -> str:
    """Where the server can scrape itself: ``0.0.0.0``/``::`` become loopback, IPv6 gets brackets."""
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def bundled_config(listen: str) -> Config:
    """The bundled example config, scraping this server at ``listen``."""
    from sloguard.config import parse_config

    text = resources.files("sloguard").joinpath(BUNDLED_CONFIG).read_text(encoding="utf-8")
    return parse_config(text.replace(_BUNDLED_LISTEN, listen), f"<bundled {BUNDLED_CONFIG}>")


def _fail(message: str) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(2)


@dataclass(frozen=True, slots=True)
class EdgeFlags:
    """The ``--web.*`` flags guarding the HTTP edge, validated (see docs: Security)."""

    web: WebConfig
    limits: EdgeLimits
    enable_lifecycle: bool
    shown: dict[str, str]


def edge_flags(
    web_config_file: Path | None, read_timeout: str, header_timeout: str, max_connections: int,
    enable_lifecycle: bool, enable_admin_api: bool,
) -> EdgeFlags:
    """``ValueError`` naming the flag (or the web config file and key) when one is wrong."""
    from sloguard.api._edge import EdgeLimits
    from sloguard.api._webconfig import WebConfig, WebConfigError, load_web_config, ssl_context

    durations = {}
    for flag, text in (("web.read-timeout", read_timeout), ("web.read-header-timeout", header_timeout)):
        try:
            durations[flag] = parse_duration_ms(text) / 1000
        except DurationError as e:
            raise ValueError(f"invalid --{flag}: {e}") from None
    if max_connections < 0:
        raise ValueError(f"invalid --web.max-connections {max_connections}: must be 0 (no limit) or more")
    try:
        web = load_web_config(web_config_file) if web_config_file else WebConfig()
        if web.tls is not None:
            ssl_context(web.tls)
    except WebConfigError as e:
        raise ValueError(str(e)) from None
    limits = EdgeLimits(durations["web.read-header-timeout"], durations["web.read-timeout"], max_connections)
    shown = {
        "web.config.file": str(web_config_file or ""), "web.read-timeout": read_timeout,
        "web.read-header-timeout": header_timeout, "web.max-connections": str(max_connections),
        "web.enable-lifecycle": str(enable_lifecycle).lower(), "web.enable-admin-api": str(enable_admin_api).lower(),
    }
    return EdgeFlags(web, limits, enable_lifecycle, shown)


def serve(
    config_file: Annotated[Path | None, typer.Option(
        "--config", "--config.file", help="Config file (default: the bundled example config)."
    )] = None,
    data_dir: Annotated[Path, typer.Option(
        "--data-dir", "--storage.tsdb.path", help="Where the TSDB keeps its files."
    )] = Path("data"),
    listen: Annotated[str, typer.Option(
        "--listen", "--web.listen-address", help="HOST:PORT to serve HTTP on."
    )] = "127.0.0.1:9090",
    log_format: Annotated[str, typer.Option("--log.format", help="logfmt or json.")] = "logfmt",
    log_level: Annotated[str, typer.Option("--log.level", help="debug, info, warn or error.")] = "info",
    # -- edge protection (see the README's "Security" section) --
    web_config_file: Annotated[Path | None, typer.Option(
        "--web.config.file", help="Prometheus web config file: TLS, basic auth, headers (and bearer tokens)."
    )] = None,
    read_timeout: Annotated[str, typer.Option(
        "--web.read-timeout", help="Maximum duration before timing out read of the request."
    )] = "5m",
    header_timeout: Annotated[str, typer.Option(
        "--web.read-header-timeout", help="Maximum duration for a client to send its request headers."
    )] = "10s",
    max_connections: Annotated[int, typer.Option(
        "--web.max-connections", help="Maximum number of simultaneous connections (0: only the open-files bound)."
    )] = 512,
    enable_lifecycle: Annotated[bool, typer.Option(
        "--web.enable-lifecycle", help="Enable shutdown and reload via HTTP request."
    )] = False,
    enable_admin_api: Annotated[bool, typer.Option(
        "--web.enable-admin-api", help="Enable API endpoints for admin control actions (sloguard has none yet)."
    )] = False,
    # --- query bounds (Prometheus' --query.* flags; they override the config's query: keys)
    query_timeout: Annotated[str | None, typer.Option(
        "--query.timeout", help="Longest a query may run (default 2m).")] = None,
    query_max_samples: Annotated[str | None, typer.Option(
        "--query.max-samples", help="Most samples one query may hold in memory (default 50000000).")] = None,
    query_max_concurrency: Annotated[str | None, typer.Option(
        "--query.max-concurrency", help="Queries evaluated at once (default 20).")] = None,
    query_lookback_delta: Annotated[str | None, typer.Option(
        "--query.lookback-delta", help="How far back an instant selector looks (default 5m).")] = None,
    query_max_body_bytes: Annotated[str | None, typer.Option(
        "--query.max-body-bytes", help="Largest form body an API request may send (default 10MiB).")] = None,
    query_memory_limit: Annotated[str | None, typer.Option(
        "--query.memory-limit",
        help="Process RSS above which new queries get 503 (default 0: 80% of RAM or the cgroup limit).")] = None,
    query_max_parse_depth: Annotated[str | None, typer.Option(
        "--query.max-parse-depth", help="Deepest nesting a PromQL expression may have (default 200).")] = None,
    query_max_parse_chain: Annotated[str | None, typer.Option(
        "--query.max-parse-chain", help="Longest binary-operator chain in PromQL (default 300).")] = None,
    # --- the built-in alerting pipeline and its state store
    alerting_config: Annotated[Path | None, typer.Option(
        "--alerting.config", help="Alertmanager config file for the built-in pipeline "
        "(overrides alerting_config_file; default: alerts are logged).")] = None,
    state_url: Annotated[str | None, typer.Option(
        "--state.url", help="State store: sqlite:///PATH or postgresql://USER:PASS@HOST:PORT/DB "
        "(overrides state.url; default: state.db in the data dir).")] = None,
    peer_name: Annotated[str | None, typer.Option(
        "--alerting.peer-name", help="This replica's name among those sharing one state store "
        "(default: HOST:PORT).")] = None,
    mode: Annotated[str | None, typer.Option(
        "--mode", help="embedded (the default: the local TSDB stores everything) or ruler (reads go to "
        "query_backend, outputs back through remote_write; overrides the config's mode:).")] = None,
    # --- alert state (Prometheus' --rules.alert.* flags)
    alert_resend_delay: Annotated[str, typer.Option(
        "--rules.alert.resend-delay", help="Minimum time to wait before re-sending an alert.")] = "1m",
    alert_outage_tolerance: Annotated[str, typer.Option(
        "--rules.alert.for-outage-tolerance",
        help="Max time to tolerate an outage (or a replica's death) when restoring the 'for' state of alerts.")] = "1h",
    alert_grace_period: Annotated[str, typer.Option(
        "--rules.alert.for-grace-period",
        help="Minimum time between an alert's 'for' state being restored and it firing; alerts whose "
        "'for' is shorter are not restored.")] = "10m",
    http_sender: Annotated[str, typer.Option(
        "--alerting.http-sender", help="process (receivers' POSTs sent from a worker process, a second core) "
        "or inline (on the server's event loop).")] = "process",
    event_loop: Annotated[str, typer.Option(
        "--event-loop", help="auto (uvloop when installed, else asyncio's loop), asyncio or uvloop.")] = "auto",
    maintenance_interval: Annotated[str, typer.Option(
        "--storage.tsdb.maintenance-interval", hidden=True,
        help="How often blocks are cut, compacted, retained and new block directories loaded.")] = "1m",
) -> None:
    """Run the sloguard server: TSDB, scrapes, remote-write receiver and HTTP API."""
    from sloguard._eventloop import resolve as resolve_loop
    from sloguard.api._listen import ServeError
    from sloguard.api._server import ServeOptions
    from sloguard.api._server import serve as run_server
    from sloguard.cli._query_flags import QUERY_FLAGS, apply_query_flags, query_flag_values
    from sloguard.config import ConfigError, load_config
    from sloguard.rules import AlertTiming

    try:
        fmt = LogFormat(log_format)
        parse_level(log_level)
        host, port = parse_listen(listen)
        edge = edge_flags(web_config_file, read_timeout, header_timeout, max_connections,
                          enable_lifecycle, enable_admin_api)
        maintenance_s = _positive_duration_s("--storage.tsdb.maintenance-interval", maintenance_interval)
        loop = resolve_loop(event_loop)
        if http_sender not in ("process", "inline"):
            raise ValueError(f"invalid --alerting.http-sender {http_sender!r}: expected process or inline")
        timing = AlertTiming(*(round(_positive_duration_s(f, t) * 1000) for f, t in (
            ("--rules.alert.resend-delay", alert_resend_delay),
            ("--rules.alert.for-outage-tolerance", alert_outage_tolerance),
            ("--rules.alert.for-grace-period", alert_grace_period))))
    except ValueError as e:
        msg = str(e)
        if "is not a valid LogFormat" in msg:
            msg = f"invalid --log.format {log_format!r}: expected logfmt or json"
        raise _fail(msg) from None
    try:
        config = load_config(config_file) if config_file else bundled_config(self_address(host, port))
    except ConfigError as e:
        raise _fail(str(e)) from None
    query_given = dict(zip(QUERY_FLAGS, (
        query_timeout, query_max_samples, query_max_concurrency, query_lookback_delta,
        query_max_body_bytes, query_memory_limit, query_max_parse_depth, query_max_parse_chain,
    ), strict=True))
    try:
        config = config.model_copy(update={"query": apply_query_flags(config.query, query_given)})
        config = with_mode(config, mode)
    except ValueError as e:
        raise _fail(str(e)) from None
    configure(fmt, log_level)
    flags = {
        "config.file": str(config_file or f"<bundled {BUNDLED_CONFIG}>"),
        "storage.tsdb.path": str(data_dir),
        "web.listen-address": listen,
        "log.format": fmt.value,
        "log.level": log_level,
        **edge.shown,
        **query_flag_values(config.query),
        "alerting.config": str(alerting_config or ""),
        "state.url": _hide_password(state_url or ""),
        "alerting.peer-name": peer_name or "",
        "mode": config.mode.value,
        "rules.alert.resend-delay": alert_resend_delay,
        "rules.alert.for-outage-tolerance": alert_outage_tolerance,
        "rules.alert.for-grace-period": alert_grace_period,
        "event-loop": loop,
        "alerting.http-sender": http_sender,
    }
    options = ServeOptions(
        config_path=config_file or Path(BUNDLED_CONFIG), data_dir=data_dir, host=host, port=port,
        flags=flags, web=edge.web, limits=edge.limits, enable_lifecycle=edge.enable_lifecycle,
        maintenance_interval_s=maintenance_s,
        alerting_config=alerting_config, state_url=state_url, peer_name=peer_name or "", alert_timing=timing,
        event_loop=loop, http_sender=http_sender,
        loader=None if config_file else (lambda: bundled_config(self_address(host, port))),
    )
    tune_for_server()
    try:
        with contextlib.suppress(KeyboardInterrupt):
            run_server(options, config)
    except ServeError as e:
        typer.echo(f"sloguard: {e}", err=True)
        raise typer.Exit(1) from None


def with_mode(config: Config, mode: str | None) -> Config:
    """``config`` with ``--mode`` applied; a ruler needs a query backend to read."""
    from sloguard.config import ServerMode

    if mode is None:
        return config
    try:
        chosen = ServerMode(mode)
    except ValueError:
        raise ValueError(f"invalid --mode {mode!r}: expected embedded or ruler") from None
    if chosen is ServerMode.RULER and config.backend() is None:
        raise ValueError("--mode ruler reads everything from a query backend, and the config sets no "
                         "query_backend (or remote_read)")
    if chosen is ServerMode.RULER and not config.remote_write:
        raise ValueError("--mode ruler writes rule and SLO outputs back through remote write, and the config "
                         "sets no remote_write")
    return config.model_copy(update={"mode": chosen})


def _hide_password(url: str) -> str:
    """A state URL as shown in ``/api/v1/status/flags``: its password as ``<secret>``."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:<secret>@{host}"))


def _positive_duration_s(flag: str, text: str) -> float:
    try:
        ms = parse_duration_ms(text)
    except DurationError as e:
        raise ValueError(f"invalid {flag} {text!r}: {e}") from None
    if ms <= 0:
        raise ValueError(f"invalid {flag} {text!r}: must be positive")
    return ms / 1000


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("serve")(serve)
