"""`sloguard import` commands: backfill historical data as TSDB blocks."""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:  # the backfill and the progress bar load when an import runs, not for `--help`
    from rich.progress import Progress

    from sloguard.ingest.backfill import BackfillReport

import_app = typer.Typer(
    help="Backfill historical data into a data directory (writes blocks directly).",
    no_args_is_help=True,
)


def _progress(quiet: bool) -> Progress:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    return Progress(
        TextColumn("importing"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=False),
        disable=quiet or not sys.stdout.isatty(),
        transient=True,
    )


def _ms(t: int) -> str:
    return datetime.fromtimestamp(t / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _summary(r: BackfillReport, data_dir: Path, seconds: float) -> str:
    if not r.samples:
        return f"no samples in the file; nothing written to {data_dir}"
    return (
        f"imported {r.samples} samples of {r.series} series ({_ms(r.mint)} .. {_ms(r.maxt)}) "
        f"into {len(r.blocks)} block(s) in {data_dir} in {seconds:.1f}s\n"
        f"a running 'sloguard serve' on {data_dir} serves the new blocks within a minute (its next maintenance pass)"
    )


@import_app.command("openmetrics")
def openmetrics(
    file: Annotated[Path, typer.Argument(help="OpenMetrics text file; every sample needs a timestamp.")],
    data_dir: Annotated[Path, typer.Option("--data-dir", help="Data directory to write blocks into.")] = Path("data"),
    block_hours: Annotated[int, typer.Option("--block-duration-hours", min=1, help="Block length in hours.")] = 2,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar and no summary.")] = False,
) -> None:
    """Create blocks from an OpenMetrics file, like promtool tsdb create-blocks-from openmetrics."""
    from sloguard.ingest.backfill import BackfillError, import_openmetrics

    if not file.is_file():
        typer.echo(f"error: {file} does not exist or is not a file", err=True)
        raise typer.Exit(1)
    start = time.monotonic()
    with _progress(quiet) as bar:
        task = bar.add_task("import", total=file.stat().st_size)
        try:
            report = import_openmetrics(
                file, data_dir, block_duration_ms=block_hours * 3_600_000,
                on_progress=lambda n: bar.advance(task, n),
            )
        except BackfillError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(1) from None
    if not quiet:
        typer.echo(_summary(report, data_dir, time.monotonic() - start))


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.add_typer(import_app, name="import")
