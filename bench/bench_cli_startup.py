"""Start-up time of the ``sloguard`` command line and of ``sloguard serve``.

For each source tree given (``--src LABEL=PATH``, default: this checkout's ``src``), runs
every command in a fresh interpreter ``--repeat`` times and reports the median wall time:
``--help``, ``alerting check`` on a small Alertmanager config, ``rollout validate`` and
``slo validate`` on the bundled demo specs, and ``serve``'s time to ready (start on an
empty data directory, poll ``/-/ready`` every 10 ms, then SIGTERM). Prints markdown with
the load average before and after.

Bytecode caches are written and used, as after ``pip install`` (``PYTHONDONTWRITEBYTECODE``
is dropped from the children's environment, and one warm-up run per command and tree is
not counted); ``--no-bytecode-cache`` measures every module compiled from source instead.

    PYTHONPATH=src python bench/bench_cli_startup.py --src before=/tmp/base/src --src after=src
"""

from __future__ import annotations

import argparse
import os
import resource
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


BYTECODE_CACHE = True


def _env(src: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    if BYTECODE_CACHE:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) the running process ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _run_once(src: Path, args: list[str]) -> tuple[float, float]:
    cpu = _children_cpu()
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "sloguard.cli", *args], env=_env(src),
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"sloguard {' '.join(args)} failed ({done.returncode}): {done.stderr[-500:]}")
    return elapsed, _children_cpu() - cpu


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as r:
            return bool(r.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _serve_once(src: Path, tmp: Path) -> tuple[float, float]:
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
        return time.perf_counter() - start, _proc_cpu(proc.pid)
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
    ap.add_argument("--no-bytecode-cache", action="store_true", help="compile every module from source")
    args = ap.parse_args()
    global BYTECODE_CACHE
    BYTECODE_CACHE = not args.no_bytecode_cache
    trees = [tuple(s.split("=", 1)) for s in args.src] or [("this checkout", str(ROOT / "src"))]
    load_before = os.getloadavg()
    samples: dict[tuple[str, str], list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        commands = _commands(tmp)
        names = [*commands, SERVE]
        for _label, path in trees:  # warm-up, not counted: writes the bytecode caches
            for cmd in commands.values():
                _run_once(Path(path).resolve(), cmd)
        for _ in range(args.repeat):  # trees interleaved, so a change of load hits each alike
            for label, path in trees:
                src = Path(path).resolve()
                for name, cmd in commands.items():
                    samples.setdefault((name, label), []).append(_run_once(src, cmd))
                samples.setdefault((SERVE, label), []).append(_serve_once(src, tmp))
    load_after = os.getloadavg()
    labels = [label for label, _ in trees]
    print("## CLI start-up (bench_cli_startup.py)\n")
    print(f"Load average before {load_before[0]:.2f}, after {load_after[0]:.2f}; median of {args.repeat} "
          f"runs each, interleaved; wall time (the runs), then the command's CPU time (user + system, "
          f"for serve until ready); bytecode caches {'used' if BYTECODE_CACHE else 'not used'}; "
          f"Python {sys.version.split()[0]}.\n")
    print("| command | " + " | ".join(labels) + " |")
    print("|---|" + "---|" * len(labels))
    for name in names:
        cells = []
        for label in labels:
            runs = samples[(name, label)]
            wall, cpu = [w for w, _ in runs], [c for _, c in runs]
            cells.append(f"{statistics.median(wall):.2f} s ({', '.join(f'{w:.2f}' for w in wall)}); "
                         f"CPU {statistics.median(cpu):.2f} s")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
