"""`sloguard alerting` commands: check an Alertmanager configuration, show and test its routes,
with `amtool check-config` and `amtool config routes` output."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:  # the alerting package loads when a command runs, not for `--help`
    from sloguard.alerting import AlertmanagerConfig, Route

alerting_app = typer.Typer(help="Alertmanager-compatible alerting: check configs, show and test routes.",
                           no_args_is_help=True)
routes_app = typer.Typer(help="Show the routing tree or test which receivers an alert reaches.", no_args_is_help=True)
alerting_app.add_typer(routes_app, name="routes")

ConfigOpt = Annotated[Path, typer.Option("--config", "--config.file", help="The Alertmanager configuration file.")]


@alerting_app.command("check")
def check(files: Annotated[list[Path], typer.Argument(help="Alertmanager configuration files.")]) -> None:
    """Validate configuration files like `amtool check-config` (exit 1 if any is invalid)."""
    failed = sum(0 if _check_one(f) else 1 for f in files)
    if failed:
        typer.echo(f"sloguard: error: failed to validate {failed} file(s)", err=True)
        raise typer.Exit(1)


def _check_one(path: Path) -> bool:
    from sloguard.alerting import AlertingConfigError, load_config

    try:
        cfg = load_config(path)
    except AlertingConfigError as e:
        where = f"{e.path}: " if e.path else ""
        typer.echo(f"Checking '{path}'  FAILED: {where}{e.detail}\n")
        return False
    typer.echo(f"Checking '{path}'  SUCCESS")
    for problem in cfg.problems:
        typer.echo(f"WARNING: {problem.path}: {problem.message}", err=True)
    files = cfg.template_files()
    typer.echo(f"Found:\n - global config\n - route\n - {len(cfg.inhibit_rules)} inhibit rules\n"
               f" - {len(cfg.receivers)} receivers\n - {len(files)} templates")
    error = None
    if files:  # the template parser (the rules package's) loads only for a config that has templates
        from sloguard.alerting._templates import template_error

        error = template_error(files)
        typer.echo(f"  FAILED: {error}" if error else "  SUCCESS")
    typer.echo("")
    return error is None


def _load(path: Path) -> AlertmanagerConfig:
    from sloguard.alerting import AlertingConfigError, load_config

    try:
        return load_config(path)
    except AlertingConfigError as e:
        typer.echo(f"sloguard: error: {e}", err=True)
        raise typer.Exit(1) from None


def _slug(route: Route, show_continue: bool, show_receiver: bool) -> str:
    text = route.matchers_text() if route.matchers else "default-route"
    if show_continue and route.continue_:
        text += "  continue: true"
    if show_receiver:
        text += f"  receiver: {route.opts.receiver}"
    return text


def render_tree(lines: list[tuple[int, str]]) -> str:
    """``(depth, text)`` rows, depth 1 and below, drawn as treeprint draws them under a ``.``."""
    out = ["."]
    for i, (depth, text) in enumerate(lines):
        prefix = "".join("│\u00a0\u00a0 " if _continues(lines, i, d) else "    " for d in range(1, depth))
        last = not _continues(lines, i, depth)
        out.append(f"{prefix}{'└── ' if last else '├── '}{text}")
    return "\n".join(out) + "\n"


def _continues(lines: list[tuple[int, str]], i: int, depth: int) -> bool:
    """Whether a later row at ``depth`` comes before the subtree of row ``i`` at that depth ends."""
    for d, _ in lines[i + 1:]:
        if d < depth:
            return False
        if d == depth:
            return True
    return False


def _tree_rows(route: Route, depth: int = 1) -> list[tuple[int, str]]:
    rows = [(depth, _slug(route, True, True))]
    for child in route.routes:
        rows += _tree_rows(child, depth + 1)
    return rows


@routes_app.command("show")
def show(config: ConfigOpt) -> None:
    """Print the routing tree like `amtool config routes show`."""
    from sloguard.alerting import build_route

    root = build_route(_load(config).route)
    typer.echo("Routing tree:\n" + render_tree(_tree_rows(root)))


def _labels(args: list[str]) -> dict[str, str]:
    from sloguard.alerting import MatcherParseError
    from sloguard.alerting._matchers import parse_matcher
    from sloguard.labels import MatchType

    labels: dict[str, str] = {}
    for arg in args:
        try:
            m = parse_matcher(arg)
        except MatcherParseError as e:
            raise typer.BadParameter(f"{arg!r}: {e}") from None
        if m.type is not MatchType.EQUAL:
            raise typer.BadParameter(f"{arg!r}: labels must be specified as key=value pairs")
        labels[m.name] = m.value
    return labels


def _matching_rows(route: Route, labels: dict[str, str], depth: int = 1) -> list[tuple[int, str]]:
    rows: list[tuple[int, str]] = []
    for child in route.routes:
        if child.match(labels):
            rows += _matching_rows(child, labels, depth + 1)
            if not child.continue_:
                break
    return [(depth, _slug(route, False, not rows)), *rows]


@routes_app.command("test")
def test(
    config: ConfigOpt,
    labels: Annotated[list[str] | None, typer.Argument(help="The alert's labels, as name=value.")] = None,
    tree: Annotated[bool, typer.Option("--tree", help="Also print the matching part of the tree.")] = False,
    verify: Annotated[str | None, typer.Option("--verify.receivers",
                                               help="Expected receivers, comma-separated (exit 1 if different).")] = None,
) -> None:
    """Print the receivers an alert with these labels reaches, comma-separated, like
    `amtool config routes test`."""
    from sloguard.alerting import build_route

    root = build_route(_load(config).route)
    lset = _labels(labels or [])
    receivers = ",".join(r.opts.receiver for r in root.match(lset))
    if tree:
        typer.echo("Matching routes:\n" + render_tree(_matching_rows(root, lset)) + "\n")
    typer.echo(receivers)
    if verify is not None and verify != receivers:
        typer.echo("WARNING: Expected receivers did not match resolved receivers.", err=True)
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(alerting_app, name="alerting")
