"""`sloguard analysis replay FILE --from T --to T`: an AnalysisTemplate (Argo's, or with
judge metrics) run over stored history, and the explanation of every decision.

The run starts at ``--from`` and is driven by a clock that jumps from one due time to the
next (the metrics' intervals), so each measurement sees exactly the data a live run would
have seen at that moment; at ``--to`` a run still going is terminated. History comes from
a data directory (the embedded TSDB, opened for the command and closed) or from a
Prometheus-compatible server (``--url``, instant queries). ``provider.prometheus`` metrics
are asked of that same source, whatever their ``address``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:  # the delivery package loads when a replay runs, not for `--help`
    from sloguard.delivery.analysis import AnalysisRun
    from sloguard.delivery.analysis.providers import ProviderEnv, QueryFunc, SeriesQueryFunc

HELP = "Replay analysis templates over stored history and explain their decisions."


class ReplayError(Exception):
    """A replay that cannot run; the message is printed as is."""


class JumpClock:
    """A clock that jumps to whatever time is slept until (replays need no waiting)."""

    def __init__(self, start_ms: int) -> None:
        self._now = start_ms

    def now_ms(self) -> int:
        return self._now

    async def sleep_until(self, t_ms: int) -> None:
        self._now = max(self._now, t_ms)


async def replay(name: str, metrics: Any, env: ProviderEnv, from_ms: int, to_ms: int) -> AnalysisRun:
    """The run of ``metrics`` started at ``from_ms``, stepped at each due time up to ``to_ms``."""
    from sloguard.delivery.analysis import run_to_end, start_run

    if to_ms < from_ms:
        raise ReplayError(f"--to ({to_ms} ms) is before --from ({from_ms} ms).")
    return await run_to_end(start_run(name, metrics, from_ms), env, JumpClock(from_ms), until_ms=to_ms)


def http_queries(url: str, timeout_s: float = 60) -> tuple[QueryFunc, SeriesQueryFunc]:
    """Instant queries of a Prometheus-compatible server, as values and with labels."""
    import httpx

    from sloguard.delivery.analysis.providers import ProviderError

    def series(expr: str, t_ms: int) -> list[tuple[dict[str, str], float]]:
        try:
            r = httpx.post(f"{url.rstrip('/')}/api/v1/query", data={"query": expr, "time": f"{t_ms / 1000:.3f}"},
                           timeout=timeout_s)
            body = r.json()
        except (httpx.HTTPError, ValueError) as e:
            raise ProviderError(f"Cannot query {url}: {e}.") from None
        if body.get("status") != "success":
            raise ProviderError(f"{url} refused the query {expr!r}: {body.get('error', body)}", False)
        data = body["data"]
        if data["resultType"] == "scalar":
            return [({}, float(data["result"][1]))]
        if data["resultType"] != "vector":
            raise ProviderError(f"The query {expr!r} must return an instant vector, not a {data['resultType']}.", False)
        return [(dict(s.get("metric", {})), float(s["value"][1])) for s in data["result"]]

    def values(expr: str, t_ms: int, span: tuple[int, int] | None = None) -> float | list[float]:
        if span is None:
            return [v for _, v in series(expr, t_ms)]
        try:  # a rangeQuery: every value of every series, in order
            r = httpx.post(f"{url.rstrip('/')}/api/v1/query_range", timeout=timeout_s, data={
                "query": expr, "start": f"{span[0] / 1000:.3f}", "end": f"{t_ms / 1000:.3f}", "step": f"{span[1] / 1000:g}"})
            body = r.json()
        except (httpx.HTTPError, ValueError) as e:
            raise ProviderError(f"Cannot query {url}: {e}.") from None
        if body.get("status") != "success":
            raise ProviderError(f"{url} refused the range query {expr!r}: {body.get('error', body)}", False)
        return [float(v[1]) for s in body["data"]["result"] for v in s["values"]]

    return values, series


def _args(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise ReplayError(f"--arg {item!r}: expected NAME=VALUE.")
        out[key] = value
    return out


def _metrics(file: Path, template_name: str | None, args: dict[str, str]) -> tuple[str, Any]:
    from sloguard.delivery.analysis.template import TemplateError, instantiate, load_template_file

    templates, problems = load_template_file(file)
    if problems:
        raise ReplayError("The template file has problems:\n" + "\n".join(f"  {p}" for p in problems))
    if template_name is not None:
        templates = [t for t in templates if t.name == template_name]
    if len(templates) != 1:
        names = ", ".join(t.name for t in load_template_file(file)[0])
        which = f"no template named {template_name!r}" if template_name else "several templates; choose one with --template"
        raise ReplayError(f"{file} holds {which} (templates: {names}).")
    try:
        return templates[0].name, instantiate(templates[0], args, embedded_prometheus=True)
    except TemplateError as e:
        raise ReplayError(str(e)) from None


def _run(file: Path, from_ms: int, to_ms: int, data_dir: Path | None, url: str | None,
         template: str | None, args: dict[str, str]) -> AnalysisRun:
    import asyncio

    from sloguard.delivery.analysis.providers import ProviderEnv

    name, metrics = _metrics(file, template, args)
    if url:
        values, series = http_queries(url)
        return asyncio.run(replay(name, metrics, ProviderEnv(values, series=series), from_ms, to_ms))
    from sloguard.cli._query import open_tsdb
    from sloguard.delivery.analysis.judged import engine_series_query
    from sloguard.delivery.analysis.providers import engine_query
    from sloguard.promql.engine import EngineOptions, PromQLEngine

    assert data_dir is not None  # noqa: S101  # checked by the command
    if not data_dir.is_dir():
        raise ReplayError(f"The data directory {str(data_dir)!r} does not exist.")
    db = open_tsdb(data_dir)
    try:
        engine = PromQLEngine(db, EngineOptions())
        env = ProviderEnv(engine_query(engine), series=engine_series_query(engine))
        return asyncio.run(replay(name, metrics, env, from_ms, to_ms))
    finally:
        db.close()


def replay_command(
    file: Annotated[Path, typer.Argument(help="An AnalysisTemplate file (Argo's, or with judge metrics).")],
    from_: Annotated[str, typer.Option("--from", help="Start of the run: RFC3339, unix seconds, now-1h.")],
    to: Annotated[str, typer.Option("--to", help="End: RFC3339, unix seconds, now.")] = "now",
    data_dir: Annotated[Path | None, typer.Option("--data-dir", help="Read history from this TSDB directory.")] = None,
    url: Annotated[str | None, typer.Option("--url", help="Read history from a Prometheus-compatible server.")] = None,
    arg: Annotated[list[str] | None, typer.Option("--arg", help="A template argument NAME=VALUE (repeatable).")] = None,
    template: Annotated[str | None, typer.Option("--template", help="The template to run, when FILE holds several.")] = None,
    output: Annotated[str, typer.Option("--format", "-o", help="text or json")] = "text",
) -> None:
    """Run an analysis over stored history from --from to --to and explain each decision."""
    from sloguard.cli._slo_backtest import _time_ms
    from sloguard.delivery.explain import explain_json, explain_lines
    from sloguard.slo._backtest_model import BacktestError

    if bool(url) == bool(data_dir):
        typer.echo("Give exactly one of --url or --data-dir.", err=True)
        raise typer.Exit(2)
    if output not in ("text", "json"):
        typer.echo(f"--format {output!r}: expected text or json.", err=True)
        raise typer.Exit(2)
    try:
        run = _run(file, _time_ms(from_, "--from"), _time_ms(to, "--to"), data_dir, url, template, _args(arg or []))
    except (ReplayError, BacktestError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps(explain_json(run), indent=2) if output == "json" else "\n".join(explain_lines(run)))


def register(app: typer.Typer) -> None:
    analysis_app = typer.Typer(help=HELP, no_args_is_help=True)
    analysis_app.command("replay")(replay_command)
    app.add_typer(analysis_app, name="analysis")
