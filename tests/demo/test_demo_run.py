"""`sloguard demo --once` in process: a deliberately healthy v2 is promoted, which is not
what the demo must show, so it reports FAILED and exits 1; everything it started stops."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from rich.console import Console

from sloguard.cli._demo import run_demo
from sloguard.demo.stack import DemoOptions


def test_a_healthy_v2_makes_the_demo_fail_and_everything_stops(tmp_path: Path) -> None:
    options = DemoOptions(port=0, data_dir=tmp_path / "data", pause_scale=0.1, rps=100,
                          v2_error_ratio=0.005, v2_slow_ratio=0.0)   # v2 as healthy as v1; pauses of 2 s

    async def main() -> tuple[int, int]:
        before = len(asyncio.all_tasks())
        code = await run_demo(options, True, Console(file=out, width=200, highlight=False, soft_wrap=True))
        return code, len(asyncio.all_tasks()) - before

    out = io.StringIO()
    code, left = asyncio.run(main())
    text = out.getvalue()
    assert code == 1, text
    assert "Summary: FAILED: the rollouts did NOT end as expected" in text
    assert "✗ checkout-v2  Healthy (expected Degraded)" in text
    assert "✓ checkout-v3  Healthy (expected Healthy)" in text
    assert left == 0                      # load generator, proxy, server and versions all stopped
    assert (tmp_path / "data").is_dir()   # a data dir given is kept


def test_a_taken_port_is_a_clear_error_and_nothing_is_left_running(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = io.StringIO()

        async def main() -> tuple[int, int]:
            before = len(asyncio.all_tasks())
            code = await run_demo(DemoOptions(port=port, data_dir=tmp_path / "data"), True,
                                  Console(file=out, width=200, highlight=False))
            return code, len(asyncio.all_tasks()) - before

        code, left = asyncio.run(main())
    assert code == 1
    assert f"sloguard demo: The sloguard server did not start: cannot listen on 127.0.0.1:{port}" in out.getvalue()
    assert left == 0
