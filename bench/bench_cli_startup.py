"""Start-up time of the ``sloguard`` command line and of ``sloguard serve``.

For each source tree given (``--src LABEL=PATH``, default: this checkout's ``src``), runs
every command in a fresh interpreter ``--repeat`` times and reports the median wall time:
``--help``, ``alerting check`` on a small Alertmanager config, ``rollout validate`` and
``slo validate`` on the bundled demo specs, and ``serve``'s time to ready (start on an
empty data directory, poll ``/-/ready`` every 10 ms, then SIGTERM). Prints markdown with
the load average before and after.

    PYTHONPATH=src python bench/bench_cli_startup.py --src before=/tmp/base/src --src after=src
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests._net import free_port  # noqa: E402

AM_CONFIG = "route:\n  receiver: a\n  routes:\n  - matchers: [x=1]\n    receiver: b\nreceivers: [{name: a}, {name: b}]\n"
SPECS = ROOT / "src" / "sloguard" / "demo" / "specs"
SERVE = "sloguard serve: time to ready"


def _commands(tmp: Path) -> dict[str, list[str]]:
    am = tmp / "am.yml"
    am.write_text(AM_CONFIG)
    return {
        "sloguard --help": ["--help"],
        "sloguard alerting check FILE": ["alerting", "check", str(am)],
        "sloguard rollout validate FILE": ["rollout", "validate", str(SPECS / "rollout-v2.yml")],
        "sloguard slo validate FILE": ["slo", "validate", str(SPECS / "slos.yml")],
    }


def _env(src: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(src)}


def _run_once(src: Path, args: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "sloguard.cli", *args], env=_env(src),
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"sloguard {' '.join(args)} failed ({done.returncode}): {done.stderr[-500:]}")
    return elapsed


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return bool(r.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _serve_once(src: Path, tmp: Path) -> float:
    port = free_port()
    data = Path(tempfile.mkdtemp(dir=tmp))
    cmd = [sys.executable, "-m", "sloguard.cli", "serve", "--storage.tsdb.path", str(data),
           "--web.listen-address", f"127.0.0.1:{port}", "--log.level", "warn"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=_env(src), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not _ready(f"http://127.0.0.1:{port}/-/ready"):
            if proc.poll() is not None:
                raise SystemExit(f"sloguard serve exited with {proc.returncode} before it was ready")
            if time.perf_counter() - start > 60:
                raise SystemExit("sloguard serve was not ready within 60 s")
            time.sleep(0.01)
        return time.perf_counter() - start
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--src", action="append", default=[], help="LABEL=PATH of a source tree (repeatable)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    trees = [tuple(s.split("=", 1)) for s in args.src] or [("this checkout", str(ROOT / "src"))]
    load_before = os.getloadavg()
    samples: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        commands = _commands(tmp)
        names = [*commands, SERVE]
        for _ in range(args.repeat):  # trees interleaved, so a change of load hits each alike
            for label, path in trees:
                src = Path(path).resolve()
                for name, cmd in commands.items():
                    samples.setdefault((name, label), []).append(_run_once(src, cmd))
                samples.setdefault((SERVE, label), []).append(_serve_once(src, tmp))
    load_after = os.getloadavg()
    labels = [label for label, _ in trees]
    print(f"Load average before {load_before[0]:.2f}, after {load_after[0]:.2f}; median of {args.repeat} "
          f"runs each, interleaved; Python {sys.version.split()[0]}.\n")
    print("| command | " + " | ".join(labels) + " |")
    print("|---|" + "---|" * len(labels))
    for name in names:
        cells = []
        for label in labels:
            runs = samples[(name, label)]
            cells.append(f"{statistics.median(runs):.2f} s ({', '.join(f'{r:.2f}' for r in runs)})")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
