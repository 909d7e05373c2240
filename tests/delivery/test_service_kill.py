"""SIGKILL of a process serving a rollout through its in-process proxy: a new process
resumes the rollout at the same step and weight, its proxy routes as before, and the
rollout goes on from there."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx

from sloguard.state import open_store
from tests._net import free_port

ROOT = Path(__file__).resolve().parents[2]


def child(url: str, ports: tuple[int, int, int], mode: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"}
    p = subprocess.Popen([sys.executable, "-m", "tests.delivery._served_process", url, *map(str, ports), mode],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    assert p.stdout is not None and p.stdout.readline().strip() == "READY"
    return p


def kill(p: subprocess.Popen[str]) -> None:
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=30)
    assert p.returncode == -signal.SIGKILL


def stored(url: str) -> tuple[str, int, int]:
    with open_store(url) as store:
        rec = store.rollouts.get("checkout-v2")
        assert rec is not None
        return rec.phase, int(rec.state["step_index"]), int(rec.state["canary_weight"])


def wait_for(check: Callable[[], bool], timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def versions(port: int, n: int = 40) -> Counter[str]:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as c:
        return Counter(c.get("/").headers.get("x-upstream", "none") for _ in range(n))


def test_sigkill_then_a_new_process_resumes_the_served_rollout_and_its_proxy(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    ports = (free_port(), free_port(), free_port())
    first = child(url, ports, "start")
    try:
        wait_for(lambda: stored(url) == ("Paused", 1, 50))
        assert set(versions(ports[0])) == {"v1", "v2"}
    finally:
        kill(first)
    assert stored(url) == ("Paused", 1, 50)
    second = child(url, ports, "open")
    try:
        assert stored(url) == ("Paused", 1, 50)
        got = versions(ports[0])
        assert set(got) == {"v1", "v2"}, got  # the committed 50% is in force again
        assert second.stdin is not None and second.stdout is not None
        second.stdin.write("promote\n")
        second.stdin.flush()
        assert second.stdout.readline().strip().startswith("WEIGHT")
        wait_for(lambda: stored(url) == ("Paused", 3, 100))
        assert versions(ports[0], 10) == Counter({"v2": 10})
    finally:
        kill(second)
