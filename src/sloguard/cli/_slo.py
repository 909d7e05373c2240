"""`sloguard slo` commands: validate, convert and export SLO specs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sloguard.slo import rulegen
from sloguard.slo._spec_sloth import lossy
from sloguard.slo._yaml import dump_yaml
from sloguard.slo.loader import SpecFormat, dump, load_files

slo_app = typer.Typer(help="SLOs as code: validate, convert, generate rules.", no_args_is_help=True)


def _load(files: list[Path]) -> list:  # type: ignore[type-arg]
    slos, problems = load_files(files)
    for p in problems:
        typer.echo(str(p), err=True)
    if problems:
        raise typer.Exit(1)
    return slos


@slo_app.command("validate")
def validate(files: Annotated[list[Path], typer.Argument(help="Sloth, OpenSLO or native spec files.")]) -> None:
    """Check specs; every problem is printed with its file and key path (exit 1)."""
    slos = _load(files)
    typer.echo(f"SUCCESS: {len(slos)} SLOs found in {len(files)} file(s)")


@slo_app.command("convert")
def convert(
    files: Annotated[list[Path], typer.Argument()],
    to: Annotated[SpecFormat, typer.Option("--to", help="Target format.")],
) -> None:
    """Print the specs in another format (warnings name what the target cannot express)."""
    slos = _load(files)
    if to is SpecFormat.SLOTH:
        for slo in slos:
            for w in lossy(slo):
                typer.echo(f"warning: {w}", err=True)
    typer.echo(dump_yaml(dump(slos, to)), nl=False)


@slo_app.command("rules")
def rules(
    files: Annotated[list[Path], typer.Argument()],
    manifest: Annotated[bool, typer.Option("--prometheus-rule", help="Emit a PrometheusRule manifest.")] = False,
    name: Annotated[str, typer.Option(help="Manifest name (with --prometheus-rule).")] = "sloguard-slos",
    namespace: Annotated[str, typer.Option(help="Manifest namespace (with --prometheus-rule).")] = "",
    interval: Annotated[str, typer.Option(help="Evaluation interval of the SLI groups.")] = "1m",
) -> None:
    """Generate the Prometheus rule file (recordings, burn-rate alerts, metadata)."""
    from sloguard.slo._durations import parse_duration_ms

    slos = _load(files)
    ms = parse_duration_ms(interval)
    doc = rulegen.prometheus_rule(slos, name, namespace, ms) if manifest else rulegen.generate(slos, ms)
    typer.echo(dump_yaml([doc]), nl=False)


@slo_app.command("report")
def report(
    files: Annotated[list[Path] | None, typer.Argument(help="Spec files (with --data-dir).")] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Compute from this TSDB directory.")] = None,
    url: Annotated[str | None, typer.Option("--url", help="Ask a running sloguard server instead.")] = None,
    at: Annotated[str | None, typer.Option("--time", help="Evaluation time (RFC3339 or unix seconds); default now.")] = None,
    output: Annotated[str, typer.Option("-o", "--output", help="table or json")] = "table",
) -> None:
    """Error budgets: SLI, budget left (ratio, minutes, events), burn rates, time to exhaustion."""
    import json
    import time

    from rich.console import Console

    from sloguard.slo import budget
    from sloguard.slo.report import slo_json, table, table_from_json

    if bool(url) == bool(data_dir):
        typer.echo("Give exactly one of --url or --data-dir.", err=True)
        raise typer.Exit(2)
    if url:
        import httpx

        params = {"time": at} if at else {}
        body = httpx.get(f"{url.rstrip('/')}/api/v1/slos", params=params, timeout=60).json()
        if body.get("status") != "success":
            typer.echo(f"{url}: {body.get('error', body)}", err=True)
            raise typer.Exit(1)
        if output == "json":
            typer.echo(json.dumps(body["data"], indent=2))
        else:
            Console().print(table_from_json(body["data"]))
        return
    from sloguard.api._http import parse_time
    from sloguard.promql.engine import PromQLEngine
    from sloguard.tsdb import TSDB

    slos = _load(files or [])
    at_ms = parse_time(at) if at else int(time.time() * 1000)
    db = TSDB.open(data_dir)  # type: ignore[arg-type]
    try:
        engine = PromQLEngine(db)
        rows = [(slo, budget.compute(engine, slo, at_ms)) for slo in slos]
    finally:
        db.close()
    if output == "json":
        typer.echo(json.dumps([slo_json(s, b) for s, b in rows], indent=2))
    else:
        Console().print(table(rows))


def register(app: typer.Typer) -> None:
    from sloguard.cli import _slo_backtest  # `slo backtest` lives in its own module

    _slo_backtest.register(slo_app)
    app.add_typer(slo_app, name="slo")
