"""`sloguard conformance` commands: run upstream conformance material against sloguard."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer

_DEFAULT_SKIPS = Path("tests/promql/conformance_skips.txt")


def _test_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files.extend(sorted(p.glob("*.test")))
        elif p.is_file():
            files.append(p)
        else:
            raise typer.BadParameter(f"{p} is neither a .test file nor a directory.")
    if not files:
        raise typer.BadParameter("No .test files found in the given paths.")
    return files


def promql(
    paths: list[Path] = typer.Argument(..., help="PromQL .test files or directories of them."),  # noqa: B008 - typer style
    skips: Path | None = typer.Option(  # noqa: B008 - typer style
        None,
        "--skips",
        help="Skip list ('<file>.test:<line> <reason>' per line); defaults to "
        f"{_DEFAULT_SKIPS} when that file exists.",
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Also list skipped evals."),  # noqa: B008
) -> None:
    """Run Prometheus' scripted PromQL tests (.test files) against sloguard's engine.

    Prints per-file counts, every failure with file:line, the query and what differed, and
    ends with 'N passed, N failed, N skipped'. Exits 1 when any eval fails.
    """
    from sloguard.promql.testscript import (
        Outcome,
        ScriptError,
        parse_script,
        read_skips,
        run_script,
    )

    skip_path = skips if skips is not None else (_DEFAULT_SKIPS if _DEFAULT_SKIPS.is_file() else None)
    skip_map = read_skips(skip_path.read_text()) if skip_path is not None else {}
    total: Counter[Outcome] = Counter()
    for path in _test_files(paths):
        try:
            script = parse_script(path.read_text(), path.name)
        except ScriptError as e:
            typer.echo(f"{path.name}: cannot parse: {e}")
            total[Outcome.FAILED] += 1
            continue
        results = run_script(script, skips=skip_map.get(path.name, {}))
        counts = Counter(r.outcome for r in results)
        total.update(counts)
        typer.echo(
            f"{path.name:28s} {counts[Outcome.PASSED]:4d} passed {counts[Outcome.FAILED]:4d} failed "
            f"{counts[Outcome.SKIPPED]:4d} skipped"
        )
        for r in results:
            if r.outcome is Outcome.FAILED or (verbose and r.outcome is Outcome.SKIPPED):
                typer.echo(f"  {r.outcome.value.upper()} {r.where}: {r.expr}\n      {r.message}")
    typer.echo(
        f"{total[Outcome.PASSED]} passed, {total[Outcome.FAILED]} failed, {total[Outcome.SKIPPED]} skipped"
    )
    if total[Outcome.FAILED]:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    group = typer.Typer(help="Run upstream conformance material against sloguard.", no_args_is_help=True)
    group.command("promql")(promql)
    app.add_typer(group, name="conformance")
