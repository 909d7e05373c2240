"""`sloguard demo`: the whole loop on one machine, what `make run` starts.

The server (the one `sloguard serve` runs) on its embedded store with the demo's SLOs,
the demo service in three versions behind the built-in proxy, a bounded load generator,
then two rollouts: v2 (more errors, a slower tail) is aborted by the judges, v3 is
promoted. Progress prints as it happens; then the summary and the URLs, and the server
keeps serving until Ctrl-C. With ``--once`` (shorter pauses) it exits after the summary:
0 only when v2 was aborted and v3 promoted, else 1.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sloguard.log import LogFormat, configure, parse_level

if TYPE_CHECKING:  # the demo (server, service, flows) loads when it runs, not for `--help`
    from rich.console import Console

    from sloguard.cli._demo_view import DemoView
    from sloguard.demo.flows import FlowResult
    from sloguard.demo.stack import DemoOptions, DemoStack

__all__ = ["demo", "register", "run_demo"]


def demo(
    once: Annotated[bool, typer.Option(
        "--once", help="Run both rollouts to their end (shorter pauses), print a summary and exit: "
        "0 only if v2 was aborted and v3 promoted.")] = False,
    port: Annotated[int, typer.Option("--port", help="The server's HTTP port on 127.0.0.1 (0: any free one).",
                                      min=0, max=65535)] = 9090,
    data_dir: Annotated[Path | None, typer.Option(
        "--data-dir", help="Where the TSDB and the state store live (default: a temporary folder, removed at exit).")] = None,
    rps: Annotated[float, typer.Option("--rps", help="Requests per second of the load generator.", min=1, max=2000)] = 200.0,
    log_level: Annotated[str, typer.Option("--log.level", help="debug, info, warn or error.")] = "warn",
    linger: Annotated[float, typer.Option(
        "--linger", hidden=True, help="With --once: keep serving this many seconds after the summary (for tests).")] = 0.0,
) -> None:
    """Run the demo: a canary of v2 aborted by the judges, then v3 promoted."""
    from rich.console import Console

    from sloguard._eventloop import run
    from sloguard.demo.stack import FAST_PAUSE_SCALE, DemoOptions

    try:
        parse_level(log_level)
    except ValueError as e:
        typer.echo(f"invalid --log.level: {e}", err=True)
        raise typer.Exit(2) from None
    configure(LogFormat.LOGFMT, log_level)
    options = DemoOptions(port=port, data_dir=data_dir, pause_scale=FAST_PAUSE_SCALE if once else 1.0, rps=rps)
    code = 130
    with contextlib.suppress(KeyboardInterrupt):
        code = run(run_demo(options, once, Console(highlight=False, soft_wrap=True), linger))
    raise typer.Exit(code)


async def run_demo(options: DemoOptions, once: bool, console: Console, linger_s: float = 0.0) -> int:
    """The demo on the running loop; the exit code (0: both flows as expected)."""
    import asyncio

    from sloguard.cli._demo_view import DemoView
    from sloguard.demo.flows import EXPECTED
    from sloguard.demo.service import DemoError
    from sloguard.demo.specfiles import SERVICE, rollout_name
    from sloguard.demo.stack import DemoStack

    view, began = DemoView(console), time.monotonic()
    stack = DemoStack(options)
    try:
        await stack.start()
        view.say(f"sloguard is ready at {stack.server_url}/ (data dir {stack.data_dir}); demo service "
                 f"'{SERVICE}' behind the proxy at {stack.proxy_url}, {options.rps:g} requests/s", "bold")
        results = await _flows(stack, view, timeout_s=120 if once else 600)
        if results is None:
            return 1
        view.summary(results, time.monotonic() - began)
        view.urls(stack.server_url, stack.proxy_url, [rollout_name(v) for v, _ in EXPECTED])
        if not once:
            view.say("The server keeps serving (and the load keeps flowing); Ctrl-C stops it.", "bold")
            await stack.wait_stopped()
        elif linger_s > 0:
            await asyncio.sleep(linger_s)
        return 0 if all(r.ok for r in results) else 1
    except DemoError as e:
        console.print(f"sloguard demo: {e}", style="bold red", markup=False)
        return 1
    finally:
        await stack.stop()


async def _flows(stack: DemoStack, view: DemoView, timeout_s: float) -> list[FlowResult] | None:
    """Both flows' results; None when the server stopped first (Ctrl-C, SIGTERM)."""
    import asyncio

    from sloguard.demo.flows import run_flows
    from sloguard.demo.service import DemoError

    flows = asyncio.ensure_future(run_flows(stack.rollouts, stack.addresses, pause_scale=stack.options.pause_scale,
                                            timeout_s=timeout_s, on_view=view.update))
    await asyncio.wait({flows, *([stack.serving] if stack.serving else [])}, return_when=asyncio.FIRST_COMPLETED)
    if not flows.done():
        flows.cancel()
        with contextlib.suppress(BaseException):
            await flows
        view.say("The server stopped before the rollouts ended.", "bold red")
        return None
    try:
        return flows.result()
    except DemoError:
        raise
    except Exception as e:  # the rollout service refused a start (its sentence says why)
        raise DemoError(f"A demo rollout could not run: {e}") from e


def register(app: typer.Typer) -> None:
    """Add ``sloguard demo`` to the root app."""
    app.command("demo")(demo)
