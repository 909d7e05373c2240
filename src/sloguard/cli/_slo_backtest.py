"""`sloguard slo backtest`: how alert policies would have behaved over stored history."""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:  # the backtest model (numpy) and the SLO readers load when a backtest runs
    from sloguard.slo._backtest_model import Backtest, Significance
    from sloguard.slo.model import SLO

HELP = "\n\n".join((
    "Replay alert policies over an SLO's stored history and measure them.",
    "For each policy and tier: precision (alerts that overlapped a significant event), recall (significant events during which the tier, or a more severe one, fired), detection time (first firing minus the event's onset), reset time (when the alert stopped minus when the errors stopped) and the share of the period's error budget spent before detection.",
    "A significant event of a tier is a span in which the budget spent over a trailing window reaches a share of the period's budget: by default 2% in 1h for pages (--page-event 2%/1h) and 10% in 3 days for tickets (--ticket-event 10%/3d). It starts where the errors that made it significant began (the stretch of that window whose burn rate above 1x sums highest) and lasts while the share holds; it ends, for the reset time, when those errors stopped.",
    "Policies (--policy, repeatable, default spec): spec (the SLO's own tiers), workbook (the SRE workbook's tiers), sloth (Sloth's default windows, 28d/30d periods), pyrra (Pyrra's windows), or a file: Sloth's AlertWindows or a sloguard/v1 AlertPolicy.",
))


def _time_ms(value: str, option: str) -> int:
    from sloguard.api._http import parse_time
    from sloguard.slo._backtest_model import BacktestError
    from sloguard.slo._durations import DurationError, parse_duration_ms

    now = int(time.time() * 1000)
    m = re.fullmatch(r"now(?:-(.+))?", value.strip())
    try:
        if m:
            return now - (parse_duration_ms(m.group(1)) if m.group(1) else 0)
        return parse_time(value)
    except (ValueError, DurationError) as e:
        raise BacktestError(f"{option} {value!r}: {e} (use RFC3339, unix seconds, now or now-30d)") from None


def _significance(tier: str, text: str) -> Significance:
    from sloguard.slo._backtest_model import BacktestError, Significance
    from sloguard.slo._durations import DurationError, parse_duration_ms

    m = re.fullmatch(r"\s*([0-9.]+)\s*%\s*/\s*(\S+)\s*", text)
    try:
        if not m:
            raise ValueError("expected SHARE%/WINDOW such as 2%/1h")
        share = float(m.group(1)) / 100
        if not 0 < share <= 1:
            raise ValueError("the share must be above 0% and at most 100%")
        return Significance(tier, parse_duration_ms(m.group(2)), share)
    except (ValueError, DurationError) as e:
        raise BacktestError(f"--{tier}-event {text!r}: {e}") from None


def _query(data_dir: Path | None, url: str | None):  # type: ignore[no-untyped-def]
    from sloguard.slo._backtest_history import http_range_query
    from sloguard.slo._range import engine_range_query

    if url:
        return http_range_query(url), None
    from sloguard.promql.engine import PromQLEngine
    from sloguard.tsdb import TSDB

    db = TSDB.open(data_dir)  # type: ignore[arg-type]
    return engine_range_query(PromQLEngine(db)), db


def _backtest(slos: list[SLO], policies: list[str], sig: tuple[Significance, ...], query, span: tuple[int, int, int]) -> list[Backtest]:  # type: ignore[no-untyped-def]
    from sloguard.slo import backtest
    from sloguard.slo._backtest_history import fetch
    from sloguard.slo._backtest_policy import resolve

    from_ms, to_ms, step_ms = span
    out = []
    for slo in slos:
        pols = [resolve(p, slo) for p in policies]
        windows = [w.long_ms for p in pols for t in p.tiers for w in t.windows] + [s.window_ms for s in sig]
        history = fetch(query, slo, from_ms, to_ms, step_ms, max(windows))
        out.append(backtest.run(history, slo, pols, sig))
    return out


def backtest_command(
    files: Annotated[list[Path], typer.Argument(help="SLO spec files (Sloth, OpenSLO, native).")],
    from_: Annotated[str, typer.Option("--from", help="Start: RFC3339, unix seconds, now-90d.")],
    to: Annotated[str, typer.Option("--to", help="End: RFC3339, unix seconds, now.")] = "now",
    policy: Annotated[list[str] | None, typer.Option("--policy", help="spec, workbook, sloth, pyrra or a policy FILE (repeatable).")] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Read history from this TSDB directory.")] = None,
    url: Annotated[str | None, typer.Option("--url", help="Read history from a Prometheus-compatible server (query_range).")] = None,
    step: Annotated[str, typer.Option("--step", help="Evaluation step (the rules' interval).")] = "1m",
    page_event: Annotated[str, typer.Option("--page-event", help="Significant for a page: SHARE%/WINDOW.")] = "2%/1h",
    ticket_event: Annotated[str, typer.Option("--ticket-event", help="Significant for a ticket: SHARE%/WINDOW.")] = "10%/3d",
    slo_name: Annotated[str | None, typer.Option("--slo", help="Only the SLO of this name.")] = None,
    output: Annotated[str, typer.Option("--format", "-o", help="table or json")] = "table",
) -> None:
    from sloguard.cli._slo import _load
    from sloguard.slo._backtest_model import BacktestError
    from sloguard.slo._durations import DurationError, parse_duration_ms

    if bool(url) == bool(data_dir):
        typer.echo("Give exactly one of --url or --data-dir.", err=True)
        raise typer.Exit(2)
    if output not in ("table", "json"):
        typer.echo(f"--format {output!r}: expected table or json.", err=True)
        raise typer.Exit(2)
    slos = [s for s in _load(files) if slo_name is None or s.name == slo_name]
    if not slos:
        typer.echo(f"No SLO named {slo_name!r} in {', '.join(map(str, files))}.", err=True)
        raise typer.Exit(1)
    db = None
    try:
        sig = (_significance("page", page_event), _significance("ticket", ticket_event))
        span = (_time_ms(from_, "--from"), _time_ms(to, "--to"), parse_duration_ms(step))
        query, db = _query(data_dir, url)
        results = _backtest(slos, policy or ["spec"], sig, query, span)
    except (BacktestError, DurationError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None
    finally:
        if db is not None:
            db.close()
    _print(results, output)


def _print(results: list[Backtest], output: str) -> None:
    from rich.console import Console

    from sloguard.slo._backtest_report import backtest_json, table

    if output == "json":
        typer.echo(json.dumps([backtest_json(b) for b in results], indent=2))
        return
    Console(width=None if sys.stdout.isatty() else 400).print(table(results))


def register(slo_app: typer.Typer) -> None:
    slo_app.command("backtest", help=HELP)(backtest_command)
