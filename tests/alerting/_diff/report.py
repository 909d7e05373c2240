"""Write the notification sequences Alertmanager gives for every scenario, as markdown.

    PYTHONPATH=src python -m tests.alerting._diff.report [OUT.md] [--runs 2]

Every scenario is played ``--runs`` times (concurrently) against the real Alertmanager;
the first run's sequence is printed with whether the other runs gave the same.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from tests.alerting._diff.normalise import differences, render
from tests.alerting._diff.runner import Recording, play_all
from tests.alerting._diff.scenario import SCENARIO_DIR, all_scenarios
from tests.alerting._diff.target import alertmanager_target


def section(recs: list[Recording], comment: str) -> str:
    same = all(differences(recs[0].moments, r.moments) == [] for r in recs[1:])
    verdict = f"{len(recs)} runs, identical" if same else f"{len(recs)} runs, DIFFERENT"
    return f"### {recs[0].scenario} ({verdict})\n\n{comment}\n```\n{render(recs[0].moments)}\n```\n"


def scenario_comment(name: str) -> str:
    lines = (SCENARIO_DIR / f"{name}.yml").read_text().splitlines()
    return " ".join(line.lstrip("# ") for line in lines if line.startswith("#"))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out", nargs="?", type=Path)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    am = alertmanager_target()
    if am.missing:
        print(am.missing, file=sys.stderr)
        return 1
    version = subprocess.run([am.command(Path("x"), 0, Path("x"))[0], "--version"], capture_output=True, text=True)
    head = version.stdout.splitlines()[0] if version.stdout else "prometheus-alertmanager"
    sections = [section(recs, scenario_comment(recs[0].scenario))
                for recs in play_all(all_scenarios(), [am], runs=args.runs)]
    text = (f"## Alertmanager's notification sequences\n\nPeer: `{head}`. Each line: arrival time after the "
            "scenario's start, receiver, status, group labels, firing and resolved alerts; arrivals in the same "
            "moment are sorted.\n\n" + "\n".join(sections))
    if args.out:
        args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
