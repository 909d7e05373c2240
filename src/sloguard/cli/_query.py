"""`sloguard query` and `sloguard query-range`: ask a running server or a data directory.

Both print a table, or with ``-o json`` the body Prometheus' HTTP API would return, so
the output can be piped to ``jq`` exactly as for ``promtool query``. Whatever the source,
the answer goes through the same JSON, so table and JSON never disagree.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer

if TYPE_CHECKING:  # PromQL (and the api package's parsers) load when a query runs, not for `--help`
    from rich.console import Console

    from sloguard.promql import QueryResult

DEFAULT_URL = "http://127.0.0.1:9090"


class QueryCommandError(Exception):
    """A query the command could not run; the message is printed as is."""


def _time_ms(value: str, option: str) -> int:
    from sloguard.api._http import parse_time

    if value == "now":
        return int(time.time() * 1000)
    try:
        return parse_time(value)
    except ValueError as e:
        raise QueryCommandError(f"Invalid {option} {value!r}: {e}.") from None


def _step_ms(value: str) -> int:
    from sloguard.api._query_params import parse_duration_ns

    try:
        ms = parse_duration_ns(value) // 1_000_000
    except ValueError as e:
        raise QueryCommandError(f"Invalid --step {value!r}: {e}.") from None
    if ms <= 0:
        raise QueryCommandError(f"Invalid --step {value!r}: the step must be at least 1ms.")
    return ms


def _over_http(url: str, path: str, params: dict[str, str]) -> str:
    import httpx

    try:
        r = httpx.post(f"{url.rstrip('/')}/api/v1/{path}", data=params, timeout=300)
    except httpx.HTTPError as e:
        raise QueryCommandError(f"Cannot reach {url}: {e}.") from None
    if not r.headers.get("content-type", "").startswith("application/json"):
        raise QueryCommandError(f"{url} answered HTTP {r.status_code} without JSON.")
    return r.text


def _local(data_dir: Path, run: Callable[[Any], QueryResult]) -> str:
    """Run against the TSDB in ``data_dir`` (opened, queried, closed)."""
    from sloguard.promql import PromQLError
    from sloguard.promql._format import query_response_json
    from sloguard.promql.engine import EngineOptions, PromQLEngine

    if not data_dir.is_dir():
        raise QueryCommandError(f"The data directory {str(data_dir)!r} does not exist.")
    db = open_tsdb(data_dir)
    try:
        engine = PromQLEngine(db, EngineOptions())
        try:
            res = run(engine)
        except PromQLError as e:
            return json.dumps({"status": "error", "errorType": e.error_type.value, "error": str(e)})
        return query_response_json(res)
    finally:
        close = getattr(db, "close", None)
        if callable(close):
            close()


def open_tsdb(data_dir: Path) -> Any:
    """Open the embedded TSDB in ``data_dir`` (``sloguard.tsdb.TSDB``)."""
    tsdb_cls: Any = getattr(importlib.import_module("sloguard.tsdb"), "TSDB", None)
    if tsdb_cls is None:
        raise QueryCommandError("This build of sloguard has no embedded TSDB to open.")
    return tsdb_cls.open(data_dir) if hasattr(tsdb_cls, "open") else tsdb_cls(data_dir)


def _labels_text(metric: dict[str, str]) -> str:
    name = metric.get("__name__", "")
    rest = ", ".join(f'{k}="{v}"' for k, v in metric.items() if k != "__name__")
    return f"{name}{{{rest}}}" if rest or not name else name


def render_table(body: dict[str, Any], console: Console) -> None:
    """Print a Prometheus query response as a rich table."""
    from rich.table import Table

    data = body["data"]
    kind, result = data["resultType"], data["result"]
    table = Table(show_lines=False)
    if kind in ("scalar", "string"):
        table.add_column("timestamp")
        table.add_column(kind)
        table.add_row(str(result[0]), str(result[1]))
    elif kind == "vector":
        for col in ("series", "timestamp", "value"):
            table.add_column(col, justify="right" if col == "value" else "left")
        for s in result:
            table.add_row(_labels_text(s["metric"]), str(s["value"][0]), s["value"][1])
    else:
        for col in ("series", "timestamp", "value"):
            table.add_column(col, justify="right" if col == "value" else "left")
        for s in result:
            label = _labels_text(s["metric"])
            for i, (t, v) in enumerate(s["values"]):
                table.add_row(label if i == 0 else "", str(t), v)
    console.print(table)
    for w in body.get("warnings", []):
        console.print(f"[yellow]warning:[/yellow] {w}")


def _emit(text: str, output: str) -> None:
    """Print the answer; ``-o json`` prints the body exactly as the server wrote it."""
    from rich.console import Console

    console = Console()
    try:
        body: dict[str, Any] = json.loads(text)
    except (ValueError, RecursionError):
        raise QueryCommandError("The answer is not valid JSON.") from None
    if body.get("status") != "success":
        Console(stderr=True).print(f"[red]{body.get('errorType', 'error')}:[/red] {body.get('error', body)}")
        raise typer.Exit(1)
    if output == "json":
        typer.echo(text)
    else:
        render_table(body, console)


def _answer(url: str | None, data_dir: Path | None, path: str, params: dict[str, str],
            run: Callable[[Any], QueryResult]) -> str:
    if url and data_dir:
        raise QueryCommandError("Give either --url or --data-dir, not both.")
    if data_dir is not None:
        return _local(data_dir, run)
    return _over_http(url or DEFAULT_URL, path, params)


def _error(e: QueryCommandError) -> NoReturn:
    from rich.console import Console

    Console(stderr=True).print(f"[red]error:[/red] {e}")
    raise typer.Exit(2) from None


_URL = typer.Option(None, "--url", help=f"Prometheus-compatible server to ask (default {DEFAULT_URL}).")
_DIR = typer.Option(None, "--data-dir", help="Query this sloguard data directory directly.")
_OUT = typer.Option("table", "-o", "--output", help="table or json.")


def register(app: typer.Typer) -> None:
    """Add ``query`` and ``query-range`` to the root app."""

    @app.command("query")
    def query(
        expr: str = typer.Argument(..., help="PromQL expression."),
        at: str = typer.Option("now", "--time", help="Evaluation time (RFC 3339 or unix seconds)."),
        url: str | None = _URL,
        data_dir: Path | None = _DIR,
        output: str = _OUT,
    ) -> None:
        """Evaluate an instant query."""
        try:
            t = _time_ms(at, "--time")
            params = {"query": expr, "time": f"{t / 1000:.3f}"}
            _emit(_answer(url, data_dir, "query", params, lambda e: e.instant_query(expr, t)), output)
        except QueryCommandError as e:
            _error(e)

    @app.command("query-range")
    def query_range(
        expr: str = typer.Argument(..., help="PromQL expression."),
        start: str = typer.Option(..., "--start", help="Start (RFC 3339 or unix seconds)."),
        end: str = typer.Option("now", "--end", help="End (RFC 3339 or unix seconds)."),
        step: str = typer.Option("1m", "--step", help="Resolution (duration or seconds)."),
        url: str | None = _URL,
        data_dir: Path | None = _DIR,
        output: str = _OUT,
    ) -> None:
        """Evaluate a range query."""
        try:
            s, e_, st = _time_ms(start, "--start"), _time_ms(end, "--end"), _step_ms(step)
            params = {"query": expr, "start": f"{s / 1000:.3f}", "end": f"{e_ / 1000:.3f}",
                      "step": f"{st / 1000:.3f}"}
            _emit(_answer(url, data_dir, "query_range", params,
                          lambda eng: eng.range_query(expr, s, e_, st)), output)
        except QueryCommandError as e:
            _error(e)
