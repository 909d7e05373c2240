"""How `sloguard rollout status` and `list` draw a view: the current step marked, routes,
a judge's verdict, and server text printed as it is (never read as rich markup)."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from sloguard.cli._rollout_render import list_table, one_line, status_view

VIEW: dict[str, Any] = {
    "name": "checkout", "service": "checkout", "strategy": "canary", "phase": "Paused",
    "message": "Held: [bold]not markup[/bold]", "step": 3, "steps": 4, "canaryWeight": 5,
    "stable": "v1", "canary": "v2", "createdAt": "2026-12-03T21:00:00.000Z", "updatedAt": "2026-12-03T21:05:00.000Z",
    "stepsDetail": [
        {"index": 1, "kind": "setHeaderRoute", "text": "setHeaderRoute beta", "state": "done"},
        {"index": 2, "kind": "setWeight", "text": "setWeight 5", "state": "done"},
        {"index": 3, "kind": "analysis", "text": "analysis errors (errors)", "state": "current"},
        {"index": 4, "kind": "pause", "text": "pause until promoted", "state": "pending"},
    ],
    "analyses": [{"key": "step-2-errors", "phase": "Running", "message": "", "metrics": [
        {"name": "errors", "phase": "Running", "measurements": [
            {"phase": "Inconclusive", "value": None, "startedAt": "t", "finishedAt": "t",
             "verdict": {"judge": "exact", "outcome": "insufficient", "p_value": 0.31}}]}]}],
    "events": [{"time": f"2026-12-03T21:0{i}:00.000Z", "type": f"Event{i}", "reason": "R", "message": "m",
                "actor": "controller"} for i in range(8)],
    "hold": "", "abortReason": "", "headerRoutes": ["beta"], "mirrorRoutes": [], "proxy": {"port": 8080},
}


def render(thing: Any) -> str:
    console = Console(record=True, width=200, color_system=None)
    console.print(thing)
    return console.export_text()


def test_status_marks_the_current_step_and_shows_routes_weights_and_the_verdict() -> None:
    out = render(status_view(VIEW))
    marked = [line for line in out.splitlines() if "▶" in line]
    assert len(marked) == 1 and "analysis errors (errors)" in marked[0]
    assert sum("✓" in line for line in out.splitlines()) == 2
    assert "stable v1: 95%   canary v2: 5%" in out
    assert "header beta" in out and "127.0.0.1:8080" in out
    assert "exact insufficient p=0.31" in out
    assert "Held: [bold]not markup[/bold]" in out  # printed as the server wrote it


def test_status_shows_only_the_last_events() -> None:
    out = render(status_view(VIEW))
    assert "Event7" in out and "Event2" in out and "Event1" not in out


def test_list_and_one_line() -> None:
    out = render(list_table([VIEW]))
    row = next(line for line in out.splitlines() if line.strip().startswith("checkout"))
    assert row.split()[:7] == ["checkout", "checkout", "canary", "Paused", "3/4", "5%", "v1"]
    assert one_line(VIEW) == "checkout: Paused at step 3/4, canary weight 5%. Held: [bold]not markup[/bold]"
    done = {**VIEW, "phase": "Degraded", "step": None, "canaryWeight": 0, "message": ""}
    assert one_line(done) == "checkout: Degraded, canary weight 0%."
