"""`sloguard slo` commands: validate, convert and export SLO specs."""

from __future__ import annotations

import enum
import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sloguard.slo._formats import SpecFormat

if TYPE_CHECKING:  # the spec readers (and PromQL, to check queries) load when a command runs
    from sloguard.slo.compat import RuleOptions

slo_app = typer.Typer(help="SLOs as code: validate, convert, generate rules.", no_args_is_help=True)


def _load(files: list[Path]) -> list:  # type: ignore[type-arg]
    from sloguard.slo._problems import render
    from sloguard.slo.loader import load_files

    slos, problems = load_files(files)
    for p in problems:
        typer.echo(render(p), err=True)
    if any(p.is_error for p in problems):
        raise typer.Exit(1)
    return slos


class OutputFormat(enum.StrEnum):
    TEXT = "text"
    JSON = "json"


@slo_app.command("validate")
def validate(
    paths: Annotated[list[Path], typer.Argument(help="Sloth, OpenSLO or native spec files, or directories (searched for *.yaml/*.yml).")],
    fmt: Annotated[OutputFormat, typer.Option("--format", help="text (default) or json (for CI tools).")] = OutputFormat.TEXT,
    ignore_duplicates: Annotated[bool, typer.Option("--ignore-duplicates", "--ignore-slo-duplicates",
                                                    help="Do not report SLOs defined twice (same service and name).")] = False,
    include: Annotated[str | None, typer.Option("--include", "--fs-include", help="Keep only files whose path matches this regex.")] = None,
    exclude: Annotated[str | None, typer.Option("--exclude", "--fs-exclude", help="Drop files whose path matches this regex (before --include).")] = None,
) -> None:
    """Check specs and report every problem of every file in one run: its file, key path,
    the value as written and, for PromQL, a caret at the error (exit 1 on any problem)."""
    import json

    from sloguard.slo._errors import Problem
    from sloguard.slo._problems import discover, render, report_json
    from sloguard.slo.loader import load_files

    try:
        files = discover(paths, include, exclude)
    except re.error as e:
        typer.echo(f"invalid --include/--exclude regex: {e}", err=True)
        raise typer.Exit(2) from None
    slos, problems = load_files(files, ignore_duplicates=ignore_duplicates)
    if not files:
        problems.append(Problem(", ".join(map(str, paths)), "", "no spec files found (expected *.yaml or *.yml files)"))
    errors = sum(1 for p in problems if p.is_error)
    if fmt is OutputFormat.JSON:
        typer.echo(json.dumps(report_json(files, slos, problems), indent=2))
    else:
        for p in problems:
            typer.echo(render(p), err=True)
        verdict = f"FAILED: {errors} problem(s)" if errors else "SUCCESS"
        typer.echo(f"{verdict}: {len(slos)} valid SLO(s) in {len(files)} file(s)", err=bool(errors))
    if errors:
        raise typer.Exit(1)


@slo_app.command("convert")
def convert(
    files: Annotated[list[Path], typer.Argument()],
    to: Annotated[SpecFormat, typer.Option("--to", help="Target format.")],
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 when a field does not survive (after printing).")] = False,
) -> None:
    """Print the specs in another format. Every field the target cannot carry is named in a
    warning on stderr (`SLO 'x': field: why`); a `note:` names a query that sloguard reads back
    exactly but other tools of the target format see only approximately."""
    from sloguard.slo.convert import convert as convert_specs

    slos = _load(files)
    if to is SpecFormat.PYRRA:
        _pyrra_convert(slos)
        return
    result = convert_specs(slos, to)
    for loss in result.losses:
        typer.echo(f"{'note' if loss.portable else 'warning'}: {loss}", err=True)
    typer.echo(result.text, nl=False)
    if strict and any(not loss.portable for loss in result.losses):
        raise typer.Exit(1)


def _pyrra_convert(slos: list) -> None:  # type: ignore[type-arg]
    from sloguard.slo import _compat_pyrra, _spec_pyrra
    from sloguard.slo._yaml import dump_yaml

    for slo in slos:
        for w in _spec_pyrra.lossy(slo):
            typer.echo(f"warning: {w}", err=True)
    try:
        docs = _spec_pyrra.dump(slos)
    except _compat_pyrra.CompatError as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(1) from None
    typer.echo(dump_yaml(docs), nl=False)


@slo_app.command("rules")
def rules(
    files: Annotated[list[Path], typer.Argument()],
    manifest: Annotated[bool, typer.Option("--prometheus-rule", help="Emit a PrometheusRule manifest.")] = False,
    name: Annotated[str, typer.Option(help="Manifest name (with --prometheus-rule).")] = "sloguard-slos",
    namespace: Annotated[str, typer.Option(help="Manifest namespace (with --prometheus-rule).")] = "",
    interval: Annotated[str, typer.Option(help="Evaluation interval of the SLI groups.")] = "1m",
    compat: Annotated[str, typer.Option("--compat", help="Rule form: sloguard, or another tool's names and labels (sloth, pyrra).")] = "sloguard",
    default_slo_period: Annotated[str | None, typer.Option("--default-slo-period", help="Period of Sloth specs (which have none); default 30d.")] = None,
    windows_path: Annotated[Path | None, typer.Option("--slo-period-windows-path", help="Directory of Sloth AlertWindows files replacing the built-in 30d/28d windows.")] = None,
    disable_alerts: Annotated[bool, typer.Option("--disable-alerts", help="Leave out alerting rules.")] = False,
    disable_recordings: Annotated[bool, typer.Option("--disable-recordings", help="Leave out recording rules.")] = False,
    extra_labels: Annotated[list[str] | None, typer.Option("-l", "--extra-labels", help="key=value label added to every rule (repeatable).")] = None,
    generic_rules: Annotated[bool, typer.Option("--generic-rules", help="With --compat pyrra: Pyrra's pyrra_* rules.")] = False,
    external_url: Annotated[str, typer.Option("--external-url", help="With --compat pyrra: Pyrra UI URL for alert links.")] = "",
    slo_plugins: Annotated[list[str] | None, typer.Option("-s", "--slo-plugins", help='With --compat sloth: an SLO plugin for every SLO, as Sloth\'s JSON {"id": ..., "priority": ..., "config": ...} (repeatable).')] = None,
    disable_default_slo_plugins: Annotated[bool, typer.Option("--disable-default-slo-plugins", help="With --compat sloth: no default chain (validate, sli_rules, metadata_rules, alert_rules).")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Log at debug level on stderr (as Sloth's --debug: the sloth.dev/core/debug/v1 plugin's messages).")] = False,
) -> None:
    """Generate the Prometheus rule file (recordings, burn-rate alerts, metadata)."""
    from sloguard.slo._errors import SpecError
    from sloguard.slo.compat import EMITTERS

    if debug:
        from sloguard.log import LogFormat, configure

        configure(LogFormat.LOGFMT, "debug")

    emit = EMITTERS.get(compat)
    if emit is None:
        typer.echo(f"--compat {compat!r} is not a rule form (choose one of {', '.join(sorted(EMITTERS))}).", err=True)
        raise typer.Exit(2)
    try:
        opts = _rule_options(manifest, name, namespace, interval, default_slo_period, windows_path,
                             disable_alerts, disable_recordings, extra_labels or [])
        opts = replace(opts, generic_rules=generic_rules, external_url=external_url, slo_plugins=tuple(slo_plugins or ()),
                       disable_default_slo_plugins=disable_default_slo_plugins)
        text = emit(files, opts)
    except SpecError as e:
        for p in e.problems:
            typer.echo(str(p), err=True)
        raise typer.Exit(1) from None
    if compat == "sloth":
        from sloguard.slo.compat import sloth_form_losses
        from sloguard.slo.loader import load_files

        for w in sloth_form_losses(load_files(files)[0]):
            typer.echo(f"warning: {w}", err=True)
    typer.echo(text, nl=False)


def _rule_options(manifest: bool, name: str, namespace: str, interval: str, period: str | None,
                  windows_path: Path | None, disable_alerts: bool, disable_recordings: bool,
                  extra_labels: list[str]) -> RuleOptions:
    """The ``rules`` flags as ``RuleOptions``; a ``SpecError`` naming the flag and its text."""
    from sloguard.slo._durations import DurationError, parse_duration_ms
    from sloguard.slo._errors import Problem, SpecError
    from sloguard.slo.compat import RuleOptions

    def duration(flag: str, text: str) -> int:
        try:
            return parse_duration_ms(text)
        except DurationError as e:
            raise SpecError([Problem(flag, "", str(e))]) from None

    labels = []
    for kv in extra_labels:
        k, eq, v = kv.partition("=")
        if not eq or not k:
            raise SpecError([Problem("--extra-labels", "", f"{kv!r} is not key=value")])
        labels.append((k, v))
    return RuleOptions(duration("--interval", interval), manifest, name, namespace,
                       duration("--default-slo-period", period) if period else None, windows_path,
                       disable_alerts, disable_recordings, tuple(labels))


from sloguard.cli._slo_report import report as _report  # noqa: E402  (after slo_app exists)

slo_app.command("report")(_report)


def register(app: typer.Typer) -> None:
    from sloguard.cli import _slo_backtest  # `slo backtest` lives in its own module

    _slo_backtest.register(slo_app)
    app.add_typer(slo_app, name="slo")
