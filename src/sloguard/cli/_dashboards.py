"""`sloguard dashboards export`: Grafana dashboards for the SLOs and the services under rollout.

The SLOs are the ones ``sloguard serve`` runs: the ``slo_files`` of ``--config`` (default:
the bundled config), or the spec files and directories given with ``--slo-config``. The
services under rollout come from ``--rollouts`` spec files, ``--service`` names, and, with
``--url``, the services a running sloguard has proxy traffic for.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    import httpx

    from sloguard.slo.model import SLO

dashboards_app = typer.Typer(help="Grafana dashboards as code.", no_args_is_help=True)
EXAMPLES = Path(__file__).parents[1] / "examples"
#: Series of the built-in proxy that carry a ``version``: a service under rollout.
PROXY_SERIES = 'http_requests_total{service!="", version!=""}'


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def _spec_files(config_file: Path | None, slo_config: list[Path]) -> list[Path]:
    """``--slo-config`` paths (directories searched), else the config's ``slo_files``."""
    from sloguard.config import ConfigError, load_config, parse_config
    from sloguard.rules import expand_rule_files
    from sloguard.slo._problems import discover

    if slo_config:
        missing = [str(p) for p in slo_config if not p.exists()]
        if missing:
            raise _fail(f"--slo-config: no such file or directory: {', '.join(missing)}", 2)
        return discover(slo_config)
    try:
        if config_file is None:
            config, base = parse_config((EXAMPLES / "sloguard.yml").read_text(encoding="utf-8"), "<bundled>"), EXAMPLES
        else:
            config, base = load_config(config_file), config_file.parent
    except (ConfigError, OSError) as e:
        raise _fail(f"--config {config_file}: {e}", 2) from None
    return [Path(f) for f in expand_rule_files(list(config.slo_files), str(base))]


def _slos(files: list[Path]) -> list[SLO]:
    """The SLOs as the server keeps them (an SLO with a problem is an error here)."""
    from sloguard.api._slo_setup import _first_of_each_name
    from sloguard.slo._problems import render
    from sloguard.slo.loader import load_files

    slos, problems = load_files(files)
    for p in problems:
        typer.echo(render(p), err=True)
    if any(p.is_error for p in problems):
        raise typer.Exit(1)
    return _first_of_each_name(slos)


def _rollout_services(files: list[Path]) -> list[str]:
    from sloguard.delivery.spec import load_rollout_files
    from sloguard.slo._problems import render

    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        raise _fail(f"--rollouts: no such file: {', '.join(missing)}", 2)
    rollouts, problems = load_rollout_files(files)
    errors = [p for p in problems if p.is_error]  # warnings (fields sloguard ignores) do not matter here
    for p in errors:
        typer.echo(render(p), err=True)
    if errors:
        raise typer.Exit(1)
    return [r.service for r in rollouts]


def served_services(url: str, client: httpx.Client | None = None) -> list[str]:
    """Services with per-version proxy traffic on the sloguard (or Prometheus) at ``url``."""
    import httpx

    http = client or httpx.Client(timeout=30)
    try:
        r = http.get(url.rstrip("/") + "/api/v1/label/service/values", params={"match[]": PROXY_SERIES})
        r.raise_for_status()
        values = r.json()["data"]
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as e:
        raise _fail(f"--url {url}: cannot list the services under rollout: {e}") from None
    return [str(v) for v in values]


@dashboards_app.command("export")
def export(
    out: Annotated[Path, typer.Option("--out", help="Directory to write the dashboards' JSON files into (created if missing).")],
    config_file: Annotated[Path | None, typer.Option("--config", "--config.file", help="sloguard config whose slo_files to read (default: the bundled config).")] = None,
    slo_config: Annotated[list[Path] | None, typer.Option("--slo-config", help="SLO spec file or directory, instead of the config's slo_files (repeatable).")] = None,
    rollouts: Annotated[list[Path] | None, typer.Option("--rollouts", help="Rollout spec file: a dashboard for its service (repeatable).")] = None,
    services: Annotated[list[str] | None, typer.Option("--service", help="A service under rollout, by name (repeatable).")] = None,
    url: Annotated[str | None, typer.Option("--url", help="A running sloguard: a dashboard for every service it proxies by version.")] = None,
) -> None:
    """Write Grafana dashboards (JSON for Grafana 10+ file provisioning): an overview of every
    SLO, one per SLO, one per service under rollout. Every query is checked with sloguard's
    PromQL parser first; nothing is written if one fails."""
    from sloguard.dashboards import DashboardError
    from sloguard.dashboards import export as write

    slos = _slos(_spec_files(config_file, slo_config or []))
    names = [*(services or []), *_rollout_services(rollouts or [])]
    if url:
        names += served_services(url)
    try:
        written = write(out, slos, names)
    except DashboardError as e:
        raise _fail(str(e)) from None
    for path in written:
        typer.echo(str(path))
    typer.echo(f"{len(written)} dashboard(s): 1 overview, {len(slos)} SLO(s), {len(set(names))} service(s) under rollout.",
               err=True)


def register(app: typer.Typer) -> None:
    app.add_typer(dashboards_app, name="dashboards")
