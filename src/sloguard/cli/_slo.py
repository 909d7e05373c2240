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


from sloguard.cli._slo_report import report as _report  # noqa: E402  (after slo_app exists)

slo_app.command("report")(_report)


def register(app: typer.Typer) -> None:
    app.add_typer(slo_app, name="slo")
