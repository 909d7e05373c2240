"""Run ``sloguard``'s promtool-style rule unit tests on a fixture file, as promtool would
(from the fixture's directory), capturing what it prints."""

from __future__ import annotations

import os
from pathlib import Path

from sloguard.rules.unittest import run_rule_tests


def run_ours(directory: Path, name: str) -> tuple[int, str]:
    """(exit code, output) of ``test rules <name>`` run inside ``directory``."""
    lines: list[str] = []
    old = os.getcwd()
    os.chdir(directory)
    try:
        rc = run_rule_tests([name], lines.append, lines.append)
    finally:
        os.chdir(old)
    return rc, "".join(s + "\n" for s in lines)
