"""Run ``sloguard <args>`` through the real CLI with the server itself replaced by a recorder.

Everything ``sloguard serve`` does before starting the server runs for real: option
parsing, ``--listen`` and ``--web.*`` checks, loading and validating ``--config``. What
it would have started is recorded instead (``ServeOptions`` and the loaded ``Config``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from sloguard.cli import app


@dataclass
class Started:
    """What ``sloguard serve`` would have started, and what it printed."""

    exit_code: int
    output: str
    calls: list[tuple[Any, Any]] = field(default_factory=list)

    @property
    def options(self) -> Any:
        return self.calls[0][0]

    @property
    def config(self) -> Any:
        return self.calls[0][1]


def serve_options() -> set[str]:
    """Every option name ``sloguard serve`` accepts (``--config``, ``--config.file``, ...)."""
    command = typer.main.get_command(app).commands["serve"]  # type: ignore[attr-defined]
    return {opt for param in command.params for opt in param.opts if opt.startswith("--")}


def run_sloguard(args: list[str], monkeypatch: pytest.MonkeyPatch) -> Started:
    """``sloguard *args`` with ``api._server.serve`` replaced by a recorder."""
    started = Started(0, "")
    monkeypatch.setattr("sloguard.api._server.serve", lambda options, config: started.calls.append((options, config)))
    monkeypatch.setattr("sloguard.cli._serve.tune_for_server", lambda: None)
    monkeypatch.setattr("sloguard.cli._serve.configure", lambda *a, **k: None)
    result = CliRunner().invoke(app, args)
    started.exit_code = result.exit_code
    started.output = result.output
    return started
