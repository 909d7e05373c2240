"""`sloguard.promql` and `sloguard.delivery.analysis` load their heavy names on first use
(PEP 562), so no longer does importing the package fix the order its modules load in: each
module must import cleanly first, in a fresh interpreter, and the lazy names must resolve."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def _modules(package: str) -> list[str]:
    folder = SRC.joinpath(*package.split("."))
    return sorted(f"{package}.{p.stem}" for p in folder.glob("*.py") if p.stem != "__init__")


#: Imports each module given on the command line first, each in a forked child of an
#: interpreter that has loaded only third-party libraries; prints the modules that failed.
FORK_PROBE = """
import importlib, json, os, sys, traceback
import numpy, promql_parser, yaml  # third-party only: no sloguard module is loaded before a child's
failed = {}
for module in sys.argv[1:]:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            importlib.import_module(module)
            code = 0
        except BaseException:
            os.write(w, traceback.format_exc()[-1500:].encode())
            code = 1
        os._exit(code)
    os.close(w)
    with os.fdopen(r) as f:
        err = f.read()
    if os.waitpid(pid, 0)[1] != 0:
        failed[module] = err
print(json.dumps(failed))
"""


def test_each_module_imports_first_in_a_fresh_interpreter() -> None:
    modules = _modules("sloguard.promql") + _modules("sloguard.delivery.analysis")
    assert "sloguard.promql._ast_parse" in modules and len(modules) > 40
    done = subprocess.run([sys.executable, "-c", FORK_PROBE, *modules], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout) == {}


def test_the_lazy_names_resolve_to_their_definitions() -> None:
    code = """
import sloguard.promql as p, sloguard.delivery.analysis as a
from sloguard.promql.engine import PromQLEngine
from sloguard.delivery.analysis._runner import run_to_end
assert p.PromQLEngine is PromQLEngine and a.run_to_end is run_to_end
assert sorted(n for n in p.__all__ if getattr(p, n) is None) == []
assert sorted(n for n in a.__all__ if getattr(a, n) is None) == []
for mod in (p, a):
    try:
        mod.no_such_name
    except AttributeError:
        pass
    else:
        raise SystemExit(f"{mod.__name__}.no_such_name resolved")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_parser_loads_without_the_evaluator() -> None:
    code = "import sys, sloguard.promql._ast_parse, sloguard.promql; sloguard.promql.ParseError; " \
           "print('sloguard.promql.engine' in sys.modules, 'sloguard.tsdb' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "False"]
