"""`sloguard tsdb` commands: inspect a data directory (``verify``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:  # the TSDB (and the api package, for the lock) load when a command runs
    from rich.console import Console

    from sloguard.tsdb._verify import VerifyReport

tsdb_app = typer.Typer(help="Inspect a TSDB data directory.", no_args_is_help=True)


def _print(report: VerifyReport, data_dir: Path, console: Console) -> None:
    from rich.table import Table

    if report.problems:
        table = Table("file", "problem", title=f"damage found in {data_dir}", show_lines=True)
        for p in report.problems:
            table.add_row(p.file, p.problem)
        console.print(table)
    verdict = f"{len(report.problems)} problem(s)" if report.problems else "no damage found"
    console.print(f"checked {report.wal_files} WAL file(s) and {report.blocks} block(s) in {data_dir}: {verdict}", soft_wrap=True)
    if report.quarantined:
        console.print(f"already quarantined (not served, kept for inspection): {', '.join(report.quarantined)}", soft_wrap=True)


@tsdb_app.command("verify")
def verify(
    data_dir: Annotated[Path, typer.Argument(help="The data directory (not in use by a server).")],
    force: Annotated[bool, typer.Option("--force", help="Check even while a server holds the directory.")] = False,
) -> None:
    """Check every WAL segment and every block in full; exit 1 if anything is damaged."""
    from rich.console import Console

    from sloguard.api._storage import DataDirInUse, DataDirLock
    from sloguard.tsdb._verify import verify_data_dir

    if not data_dir.is_dir():
        typer.echo(f"error: {data_dir} is not a directory", err=True)
        raise typer.Exit(2)
    lock = DataDirLock(data_dir)
    try:
        lock.acquire()
    except DataDirInUse as e:
        if not force:
            typer.echo(f"error: {e}; a running server appends to its WAL and writes blocks, so stop it "
                       "first (or pass --force to check anyway)", err=True)
            raise typer.Exit(2) from None
        typer.echo(f"warning: {e}; checking anyway: the newest WAL record may look torn", err=True)
    try:
        report = verify_data_dir(data_dir)
    finally:
        lock.release()
    widest = max((len(p.file) + len(p.problem) for p in report.problems), default=0)
    _print(report, data_dir, Console(width=max(120, widest + 8)))  # rows on one line each: greppable
    if report.problems:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(tsdb_app, name="tsdb")
