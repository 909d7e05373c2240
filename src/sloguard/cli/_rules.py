"""`sloguard rules check FILE...` and `sloguard test rules FILE...` (promtool-compatible)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer


def _out(s: str) -> None:
    sys.stdout.write(s + "\n")
    sys.stdout.flush()


def _err(s: str) -> None:
    sys.stderr.write(s + "\n")
    sys.stderr.flush()


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    rules_app = typer.Typer(help="Prometheus-compatible rule files.", no_args_is_help=True)
    test_app = typer.Typer(help="Unit tests (promtool test compatible).", no_args_is_help=True)

    @rules_app.command("check")
    def check(
        files: list[str] = typer.Argument(..., help="Rule files to check."),  # noqa: B008 - typer declares parameters this way
        lint: str = typer.Option("duplicate-rules", "--lint", help="all, duplicate-rules or none."),
        lint_fatal: bool = typer.Option(False, "--lint-fatal", help="Exit 3 on lint errors."),
    ) -> None:
        """Check rule files like `promtool check rules` (exit 1 on errors)."""
        from sloguard.rules import Lint, check_rules

        for f in files:
            if not Path(f).exists():
                _err(f"sloguard: error: path '{f}' does not exist, try --help")
                raise typer.Exit(1)
        try:
            mode = Lint(lint)
        except ValueError:
            _err(f"sloguard: error: unknown lint option {lint!r}; use all, duplicate-rules or none")
            raise typer.Exit(1) from None
        raise typer.Exit(check_rules(files, _out, _err, mode, lint_fatal))

    @test_app.command("rules")
    def test_rules(files: list[str] = typer.Argument(..., help="Unit test files.")) -> None:  # noqa: B008 - typer style
        """Run rule unit tests like `promtool test rules`."""
        from sloguard.rules.unittest import run_rule_tests

        raise typer.Exit(run_rule_tests(files, _out, _err))

    app.add_typer(rules_app, name="rules")
    app.add_typer(test_app, name="test")
