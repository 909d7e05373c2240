"""The ``sloguard`` command line. Each command group lives in its own module."""

from __future__ import annotations

import typer

from sloguard import __version__
from sloguard.cli import _alerting, _conformance, _import, _query, _rules, _serve, _slo, _tsdb

app = typer.Typer(
    name="sloguard",
    help="SLO-driven reliability control plane.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"sloguard {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """SLO-driven reliability control plane."""


__import__("sloguard.cli._analysis", fromlist=["register"]).register(app)  # `sloguard analysis`: one line, merges easily
for _module in (_serve, _import, _query, _conformance, _rules, _slo, _tsdb, _alerting):
    _module.register(app)
__import__("sloguard.cli._rollout", fromlist=["register"]).register(app)  # `sloguard rollout`: one line, merges easily
__import__("sloguard.cli._demo", fromlist=["register"]).register(app)  # `sloguard demo`: one line, merges easily
__import__("sloguard.cli._dashboards", fromlist=["register"]).register(app)  # `sloguard dashboards`: one line, merges easily


def main() -> None:
    app()
