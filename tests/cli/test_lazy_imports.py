"""The command line and the server load only what is used: `sloguard --help` loads no
command's implementation, the checking commands load no HTTP api, and nothing loads scipy
until a judge runs. Each case runs in a fresh interpreter and reads `sys.modules`, so an
eager import added later fails here (the times themselves are in bench/bench_cli_startup.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SPECS = Path(__file__).resolve().parents[2] / "src" / "sloguard" / "demo" / "specs"
AM_CONFIG = "route:\n  receiver: a\n  routes:\n  - matchers: [x=1]\n    receiver: b\nreceivers: [{name: a}, {name: b}]\n"

#: Runs `sloguard ARGS` in this interpreter, then writes its exit code and the loaded modules.
CLI_PROBE = """
import json, sys
out, args = sys.argv[1], json.loads(sys.argv[2])
from sloguard.cli import main
sys.argv = ["sloguard", *args]
code = 0
try:
    main()
except SystemExit as e:
    code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
with open(out, "w") as f:
    json.dump({"code": code, "modules": sorted(sys.modules)}, f)
"""

#: Implementations no `--help` needs (scipy, the HTTP api, the engines, the state store).
HEAVY = ("scipy", "numpy", "sqlalchemy", "starlette", "httpx", "sloguard.api", "sloguard.promql",
         "sloguard.tsdb", "sloguard.rules", "sloguard.alerting", "sloguard.delivery", "sloguard.state",
         "sloguard.ingest", "sloguard.ui")


def _loaded(modules: list[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted({p for p in prefixes for m in modules if m == p or m.startswith(p + ".")})


def _probe(tmp_path: Path, code: str, *args: str) -> dict[str, object]:
    out = tmp_path / "probe.json"
    done = subprocess.run([sys.executable, "-c", code, str(out), *args], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(out.read_text())
    return result


def _cli(tmp_path: Path, *args: str) -> tuple[int, list[str]]:
    result = _probe(tmp_path, CLI_PROBE, json.dumps(list(args)))
    return result["code"], result["modules"]  # type: ignore[return-value]


@pytest.mark.parametrize("args", [
    ["--help"], ["alerting", "--help"], ["alerting", "check", "--help"], ["rollout", "--help"],
    ["rollout", "validate", "--help"], ["slo", "--help"], ["serve", "--help"], ["analysis", "replay", "--help"],
    ["query", "--help"], ["tsdb", "--help"], ["import", "--help"], ["demo", "--help"], ["dashboards", "--help"],
])
def test_help_loads_no_command_implementation(tmp_path: Path, args: list[str]) -> None:
    code, modules = _cli(tmp_path, *args)
    assert code == 0
    assert _loaded(modules, HEAVY) == []


def test_alerting_check_loads_neither_the_server_nor_the_rule_engine(tmp_path: Path) -> None:
    am = tmp_path / "am.yml"
    am.write_text(AM_CONFIG)
    code, modules = _cli(tmp_path, "alerting", "check", str(am))
    assert code == 0
    assert "sloguard.alerting" in modules  # the command did run its check
    assert _loaded(modules, ("scipy", "sloguard.api", "sloguard.promql", "sloguard.rules", "sloguard.state",
                             "sqlalchemy", "sloguard.delivery")) == []


@pytest.mark.parametrize(("args", "ran"), [
    (["rollout", "validate", str(SPECS / "rollout-v2.yml")], "sloguard.delivery.spec"),
    (["slo", "validate", str(SPECS / "slos.yml")], "sloguard.slo.loader"),
])
def test_spec_validation_loads_no_scipy_and_no_server(tmp_path: Path, args: list[str], ran: str) -> None:
    code, modules = _cli(tmp_path, *args)
    assert code == 0
    assert ran in modules
    assert _loaded(modules, ("scipy", "sloguard.api", "sloguard.state", "sqlalchemy", "sloguard.ui")) == []


SERVER_PROBE = """
import json, sys
import sloguard.api._server, sloguard.api._rollout_setup, sloguard.delivery.service, sloguard.delivery.spec
before = "scipy" in sys.modules
from sloguard.delivery.judges import Counts, z_test
z_test(Counts(50, 10_000), Counts(90, 10_000))
with open(sys.argv[1], "w") as f:
    json.dump({"before": before, "after": "scipy" in sys.modules}, f)
"""


def test_the_server_and_the_rollout_service_load_scipy_only_when_a_judge_runs(tmp_path: Path) -> None:
    result = _probe(tmp_path, SERVER_PROBE)
    assert result == {"before": False, "after": True}
