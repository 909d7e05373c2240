"""`sloguard rollout` commands: validate rollout specs (native or Argo) and their AnalysisTemplates
here; start, status, list, promote, pause, resume, abort, retry and explain on a running
server in ``_rollout_ops``."""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Annotated, Any

import typer

rollout_app = typer.Typer(help="Canary and blue-green rollouts.", no_args_is_help=True)


class OutputFormat(enum.StrEnum):
    TEXT = "text"
    JSON = "json"


def _rollout_json(spec: Any) -> dict[str, Any]:
    strategy = "blueGreen" if type(spec.strategy).__name__ == "BlueGreenStrategy" else "canary"
    return {"file": spec.source, "name": spec.name, "service": spec.service, "strategy": strategy,
            "format": spec.origin.value}


@rollout_app.command("validate")
def validate(
    paths: Annotated[list[Path], typer.Argument(help="Rollout and AnalysisTemplate files, or directories (searched for *.yaml/*.yml).")],
    fmt: Annotated[OutputFormat, typer.Option("--format", help="text (default) or json (for CI tools).")] = OutputFormat.TEXT,
) -> None:
    """Check rollouts (sloguard/v1 or Argo Rollout) with the AnalysisTemplates given beside
    them; report every problem with its file, line:column and key path (exit 1 on errors)."""
    from sloguard.delivery.spec import load_bundle_files
    from sloguard.slo._errors import Problem
    from sloguard.slo._problems import discover, problem_json, render

    files = discover(paths)
    bundle = load_bundle_files(files)
    specs, problems = bundle.rollouts, bundle.problems
    if not files:
        problems.append(Problem(", ".join(map(str, paths)), "", "no spec files found (expected *.yaml or *.yml files)"))
    errors = sum(1 for p in problems if p.is_error)
    if fmt is OutputFormat.JSON:
        typer.echo(json.dumps({
            "valid": not errors, "files": [str(f) for f in files],
            "problems": [problem_json(p) for p in problems if p.is_error],
            "warnings": [problem_json(p) for p in problems if not p.is_error],
            "rollouts": [_rollout_json(s) for s in specs], "templates": sorted(bundle.templates),
        }, indent=2))
    else:
        for p in problems:
            typer.echo(render(p), err=True)
        verdict = f"FAILED: {errors} problem(s)" if errors else "SUCCESS"
        templates = f", {len(bundle.templates)} AnalysisTemplate(s)" if bundle.templates else ""
        typer.echo(f"{verdict}: {len(specs)} valid rollout(s){templates} in {len(files)} file(s)", err=bool(errors))
    if errors:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    from sloguard.cli import _rollout_ops

    _rollout_ops.register(rollout_app)
    app.add_typer(rollout_app, name="rollout")
