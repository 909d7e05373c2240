"""``sloguard slo report``: budgets now (or at ``--time``), or their history (``--from``).

Both sources give the API's JSON: ``--url`` asks a server, ``--data-dir`` computes the
same JSON from a TSDB directory (alerts from its stored ``ALERTS`` series), and one table
builder renders it, so the two modes show the same columns.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sloguard.durations import DurationError, parse_duration_ms

if TYPE_CHECKING:  # PromQL, the budgets and rich load when a report runs, not for `--help`
    from rich.table import Table

    from sloguard.promql import Engine
    from sloguard.slo.model import SLO


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def cli_time(text: str, option: str, now_ms: int) -> int:
    """``now``, ``now-1h``, RFC3339 or unix seconds, in ms; a clear error naming ``option``."""
    from sloguard.api._http import parse_time

    try:
        if text == "now":
            return now_ms
        if text.startswith("now-"):
            return now_ms - parse_duration_ms(text[4:])
        return parse_time(text)
    except (ValueError, DurationError) as e:
        raise _fail(f"{option} {text!r}: {e} (use RFC3339, unix seconds, now or now-<duration> such as now-6h)") from None


def _load(files: list[Path]) -> list[SLO]:
    from sloguard.slo.loader import load_files

    slos, problems = load_files(files)
    for p in problems:
        typer.echo(str(p), err=True)
    if problems:
        raise typer.Exit(1)
    return slos


def stored_alerts(engine: Engine, slo: SLO, at_ms: int) -> list[dict[str, Any]]:
    """The SLO's alerts as the rule manager stored them (``ALERTS`` series) at ``at_ms``."""
    from sloguard.promql import Sample
    from sloguard.slo import rulegen

    res = engine.instant_query(f'ALERTS{{slo="{slo.name}"}}', at_ms)
    out = []
    for s in res.value if isinstance(res.value, list) else []:
        if isinstance(s, Sample):
            labels = {k: v for k, v in s.labels.to_dict().items() if k not in ("__name__", "alertstate")}
            out.append({"alertname": labels.get("alertname"), "tier": labels.get(rulegen.TIER_LABEL),
                        "state": s.labels.get("alertstate"), "labels": labels, "value": None})
    return out


def _get(url: str, path: str, params: dict[str, str]) -> Any:
    import httpx

    try:
        body = httpx.get(f"{url.rstrip('/')}{path}", params=params, timeout=120).json()
    except (httpx.HTTPError, ValueError) as e:
        raise _fail(f"{url}{path}: {e or type(e).__name__} (is a sloguard server listening there?)", 1) from None
    if body.get("status") != "success":
        raise _fail(f"{url}{path}: {body.get('error', body)}", 1)
    return body["data"]


def _snapshot(slos: list[SLO], engine: Engine, at_ms: int) -> list[dict[str, Any]]:
    from sloguard.slo import budget
    from sloguard.slo.report import slo_json

    return [slo_json(s, budget.compute(engine, s, at_ms), stored_alerts(engine, s, at_ms)) for s in slos]


def _histories(slos: list[SLO], engine: Engine, span: tuple[int, int, int]) -> list[dict[str, Any]]:
    from sloguard.slo import history

    return [history.history_json(history.compute(engine, s, *span)) for s in slos]


def _span(start: int, end: int, step: str | None) -> tuple[int, int, int]:
    from sloguard.slo import history

    if step is None:
        ms = history.default_step_ms(start, end)
    else:
        try:
            ms = parse_duration_ms(step)
        except DurationError as e:
            raise _fail(f"--step {step!r}: {e}") from None
    try:
        history.check_range(start, end, ms)
    except history.HistoryError as e:
        raise _fail(f"--from/--to/--step: {e}") from None
    return start, end, ms


def _num(x: float | None, fmt: str) -> str:
    return "-" if x is None else format(x, fmt)


def history_table(h: dict[str, Any]) -> Table:
    """One row per step and label set: SLI, budget left, coverage, burn rate per window."""
    from rich.table import Table

    from sloguard.slo.report import iso, percent

    t = Table(title=f"SLO history: {h['name']} ({h['period']}, objective {h['objective'] * 100:.4g}%)")
    for col in ("time", "labels", "SLI", "budget left", "coverage", *(f"burn {w}" for w in h["windows"])):
        t.add_column(col)
    for s in h["series"]:
        labels = ",".join(f"{k}={v}" for k, v in s["labels"].items())
        for i, ts in enumerate(h["timestamps"]):
            sli, left, cov = s["sli"][i], s["budgetRemaining"][i], s["coverage"][i]
            t.add_row(iso(int(ts * 1000)), labels, percent(sli, 3), percent(left), percent(cov),
                      *(_num(s["burnRates"][w][i], ".2f") for w in h["windows"]))
    return t


def report(
    files: Annotated[list[Path] | None, typer.Argument(help="Spec files (with --data-dir; with --url they pick SLOs by name).")] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Compute from this TSDB directory.")] = None,
    url: Annotated[str | None, typer.Option("--url", help="Ask a running sloguard server instead.")] = None,
    at: Annotated[str | None, typer.Option("--time", help="Evaluation time (RFC3339, unix seconds, now-1h); default now.")] = None,
    from_: Annotated[str | None, typer.Option("--from", help="History from this time (RFC3339, unix seconds, now-7d).")] = None,
    to: Annotated[str | None, typer.Option("--to", help="History up to this time; default now.")] = None,
    step: Annotated[str | None, typer.Option("--step", help="History resolution (5m, 1h); default about 250 points.")] = None,
    output: Annotated[str, typer.Option("-o", "--output", help="table or json")] = "table",
) -> None:
    """Error budgets: SLI, budget left (ratio, minutes, events), burn rates, time to
    exhaustion, coverage, alerts; with --from, the SLI, budget and every alert window's
    burn rate over time."""
    from rich.console import Console

    from sloguard.slo.report import print_table, table

    if bool(url) == bool(data_dir):
        raise _fail("Give exactly one of --url or --data-dir.")
    if from_ is None and (to or step):
        raise _fail("--to and --step need --from (the start of the history).")
    now = int(time.time() * 1000)
    data = _from_url(url, files, at, from_, to, step, now) if url else _from_dir(data_dir, files, at, from_, to, step, now)  # type: ignore[arg-type]
    if output == "json":
        typer.echo(json.dumps(data, indent=2))
    elif from_ is not None:
        for h in data:
            print_table(history_table(h), Console())
    else:
        print_table(table(data), Console())


def _from_url(url: str, files: list[Path] | None, at: str | None, from_: str | None, to: str | None,
              step: str | None, now: int) -> list[dict[str, Any]]:
    params = {"time": str(cli_time(at, "--time", now) / 1000)} if at else {}
    slos = _get(url, "/api/v1/slos", params)
    if files:
        names = {s.name for s in _load(files)}
        slos = [s for s in slos if s["name"] in names]
    if from_ is None:
        return slos  # type: ignore[no-any-return]
    start, end, ms = _span(cli_time(from_, "--from", now), cli_time(to or "now", "--to", now), step)
    q = {"start": str(start / 1000), "end": str(end / 1000), "step": f"{ms / 1000:g}"}
    return [_get(url, f"/api/v1/slos/{s['name']}/history", q) for s in slos]


def _from_dir(data_dir: Path, files: list[Path] | None, at: str | None, from_: str | None, to: str | None,
              step: str | None, now: int) -> list[dict[str, Any]]:
    from sloguard.promql.engine import PromQLEngine
    from sloguard.tsdb import TSDB

    slos = _load(files or [])
    span = None if from_ is None else _span(cli_time(from_, "--from", now), cli_time(to or "now", "--to", now), step)
    at_ms = cli_time(at, "--time", now) if at else now
    db = TSDB.open(data_dir)
    try:
        engine = PromQLEngine(db)
        return _snapshot(slos, engine, at_ms) if span is None else _histories(slos, engine, span)
    finally:
        db.close()

