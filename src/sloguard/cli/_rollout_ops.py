"""``sloguard rollout start|status|list|promote|pause|resume|abort|retry|explain``: the
commands that drive rollouts on a running server through ``/api/v1/rollouts``.

Each takes ``--url`` (default ``$SLOGUARD_URL``, else http://127.0.0.1:9090) and
``--format text|json``. A failure prints its sentence (and the spec problems the server
listed) on stderr and exits 1; ``status --watch`` exits 0 when the rollout ends Healthy,
1 when it ends Degraded, 130 when interrupted."""

from __future__ import annotations

import enum
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sloguard.cli._rollout_client import (
    DEFAULT_URL,
    URL_ENV,
    RolloutClient,
    RolloutCommandError,
    read_specs,
)

if TYPE_CHECKING:  # rich (the tables, live view) loads when a command prints, not for `--help`
    from rich.console import Console


class Format(enum.StrEnum):
    TEXT = "text"
    JSON = "json"


Url = Annotated[str, typer.Option("--url", envvar=URL_ENV, help=f"The sloguard server (default {DEFAULT_URL}).")]
Fmt = Annotated[Format, typer.Option("--format", help="text (default) or json.")]
Name = Annotated[str, typer.Argument(help="The rollout's name.")]
Actor = Annotated[str, typer.Option("--actor", help="Who does it (default: your login name; the server's "
                                                    "authenticated user wins).")]


def _console() -> Console:
    from rich.console import Console

    return Console(soft_wrap=False, width=None if _isatty() else 160)


def _isatty() -> bool:
    import sys

    return sys.stdout.isatty()


@contextmanager
def _client(url: str) -> Iterator[RolloutClient]:
    client = RolloutClient(url)
    try:
        yield client
    except RolloutCommandError as e:
        typer.echo(f"error: {e}", err=True)
        for p in e.problems:
            typer.echo(f"  {p}", err=True)
        raise typer.Exit(1) from None
    finally:
        client.close()


def _emit(data: Any, fmt: Format, text: Callable[[Any], Any]) -> None:
    if fmt is Format.JSON:
        typer.echo(json.dumps(data, indent=2))
    else:
        _console().print(text(data))


def start(
    files: Annotated[list[Path] | None, typer.Argument(
        help="The rollout's spec file and its AnalysisTemplate files (none: --name of the server's rollout_files).")] = None,
    name: Annotated[str | None, typer.Option("--name", help="The rollout to start when the files hold several.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Start despite an exhausted error budget (needs --reason).")] = False,
    actor: Actor = "",
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded with a --force).")] = "",
    url: Url = DEFAULT_URL,
    fmt: Fmt = Format.TEXT,
) -> None:
    """Start a rollout on the server from spec files (validated by the server), or one of
    the server's rollout_files by --name."""
    if force and not reason.strip():
        typer.echo("error: --force needs --reason: an override of the error-budget policy is recorded with who and why.",
                   err=True)
        raise typer.Exit(2)
    if not files and not name:
        typer.echo("error: give the spec files, or --name of a rollout in the server's rollout_files.", err=True)
        raise typer.Exit(2)
    from sloguard.cli._rollout_render import one_line

    with _client(url) as c:
        spec = read_specs(files or [])
        _emit(c.start(spec, name, force, actor or login_name(), reason), fmt, lambda v: f"started {one_line(v)}")


def status(
    name: Name,
    watch: Annotated[bool, typer.Option("--watch", "-w", help="Refresh live until the rollout finishes or Ctrl-C.")] = False,
    interval: Annotated[float, typer.Option("--interval", help="Seconds between refreshes with --watch.", min=0.1)] = 1.0,
    url: Url = DEFAULT_URL,
    fmt: Fmt = Format.TEXT,
) -> None:
    """Show a rollout: its steps (the current one marked), weights, analyses and last events."""
    from sloguard.cli._rollout_render import status_view

    with _client(url) as c:
        view = c.get(name)
        if watch:
            view = _watch(c, name, view, interval, fmt)
        _emit(view, fmt, status_view)
    if watch and view["phase"] != "Healthy":
        raise typer.Exit(1)


def _watch(c: RolloutClient, name: str, view: dict[str, Any], interval: float, fmt: Format) -> dict[str, Any]:
    """Poll until the rollout finishes; live on a terminal in text format. Returns the last view."""
    from rich.live import Live

    from sloguard.cli._rollout_render import FINISHED, status_view

    try:
        if fmt is Format.JSON:
            while view["phase"] not in FINISHED:
                time.sleep(interval)
                view = c.get(name)
            return view
        with Live(status_view(view), console=_console(), auto_refresh=False, transient=True) as live:
            while view["phase"] not in FINISHED:
                time.sleep(interval)
                view = c.get(name)
                live.update(status_view(view), refresh=True)
        return view
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise typer.Exit(130) from None


def list_(url: Url = DEFAULT_URL, fmt: Fmt = Format.TEXT) -> None:
    """List the server's rollouts."""
    from sloguard.cli._rollout_render import list_table

    with _client(url) as c:
        rows = c.list()
        _emit(rows, fmt, lambda r: list_table(r) if r else "no rollouts")


def explain(name: Name, url: Url = DEFAULT_URL, fmt: Fmt = Format.TEXT) -> None:
    """Why each decision of a rollout was taken, step by step (the judges' statistics included)."""
    with _client(url) as c:
        text = c.explain(name)
    if fmt is Format.JSON:
        typer.echo(json.dumps({"name": name, "text": text}, indent=2))
    else:
        typer.echo(text)  # plain: a '[' in a query stays as it is


def promote(name: Name, full: Annotated[bool, typer.Option("--full", help="Skip every remaining step.")] = False,
            actor: Actor = "", url: Url = DEFAULT_URL, fmt: Fmt = Format.TEXT) -> None:
    """Promote past the current pause (or, with --full, to the end)."""
    _act(url, fmt, name, "promote", actor, full=full)


def pause(name: Name, reason: Annotated[str, typer.Option("--reason", help="Why (required).")],
          actor: Actor = "", url: Url = DEFAULT_URL, fmt: Fmt = Format.TEXT) -> None:
    """Pause a rollout where it is."""
    _act(url, fmt, name, "pause", actor, reason)


def resume(name: Name, actor: Actor = "", url: Url = DEFAULT_URL, fmt: Fmt = Format.TEXT) -> None:
    """Resume a paused rollout."""
    _act(url, fmt, name, "resume", actor)


def abort(name: Name, reason: Annotated[str, typer.Option("--reason", help="Why (required).")],
          actor: Actor = "", url: Url = DEFAULT_URL, fmt: Fmt = Format.TEXT) -> None:
    """Abort a rollout: the canary's weight goes to 0 first."""
    _act(url, fmt, name, "abort", actor, reason)


def retry(name: Name, actor: Actor = "", url: Url = DEFAULT_URL, fmt: Fmt = Format.TEXT) -> None:
    """Start an aborted rollout again from its first step."""
    _act(url, fmt, name, "retry", actor)


def _act(url: str, fmt: Format, name: str, action: str, actor: str, reason: str = "", full: bool = False) -> None:
    from sloguard.cli._rollout_render import one_line

    with _client(url) as c:
        _emit(c.act(name, action, actor or login_name(), reason, full), fmt, one_line)


def login_name() -> str:
    """Who runs the command, for the event's actor ('' when the system cannot tell)."""
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return ""


def register(app: typer.Typer) -> None:
    """Add the commands to the ``sloguard rollout`` group."""
    for fn, cmd in ((start, "start"), (status, "status"), (list_, "list"), (promote, "promote"), (pause, "pause"),
                    (resume, "resume"), (abort, "abort"), (retry, "retry"), (explain, "explain")):
        app.command(cmd)(fn)
