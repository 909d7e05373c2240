"""What ``sloguard demo`` prints: a line per change of a rollout (phase, step, weight,
message) and per new judge verdict, as it happens; then the summary and the URLs.

Values from the server are printed as ``Text`` (never markup), so brackets in a message
print as they are."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.text import Text

from sloguard.demo.flows import FlowResult, verdict_line

PHASE_STYLES = {"Healthy": "green", "Degraded": "red", "Paused": "yellow", "Progressing": "cyan", "Pending": "dim"}
OUTCOME_STYLES = {"pass": "green", "fail": "bold red", "insufficient_data": "dim", "inconclusive": "yellow"}


class DemoView:
    """Prints progress lines to ``console``; ``update`` is the flows' ``on_view``."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.began = time.monotonic()
        self._last: dict[str, tuple[Any, ...]] = {}
        self._seen: set[tuple[str, str, str]] = set()

    def _stamp(self) -> Text:
        return Text(f"{time.monotonic() - self.began:6.1f}s ", style="dim")

    def say(self, message: str, style: str = "") -> None:
        self.console.print(self._stamp() + Text(message, style=style))

    def update(self, name: str, view: dict[str, Any]) -> None:
        phase = str(view.get("phase", ""))
        key = (phase, view.get("step"), view.get("canaryWeight"), view.get("message"))
        if self._last.get(name) != key:
            self._last[name] = key
            step = f"step {view.get('step') or '-'}/{view.get('steps', '?')}"
            line = self._stamp() + Text(f"{name:<12} ") + Text(f"{phase:<11}", style=PHASE_STYLES.get(phase, ""))
            message = without_result(str(view.get("message", "")))
            line += Text(f" {step:<9} {view.get('canary', '')} {view.get('canaryWeight', 0):>3}%  {message}")
            self.console.print(line)
        for metric, verdict, at in _new_verdicts(view):
            if (name, metric, at) in self._seen:
                continue
            self._seen.add((name, metric, at))
            outcome = str(verdict.get("outcome", ""))
            text = Text(f"{'':8}judge {metric}: ") + Text(verdict_line(verdict), style=OUTCOME_STYLES.get(outcome, ""))
            self.console.print(self._stamp() + text)

    def summary(self, results: Sequence[FlowResult], elapsed_s: float) -> None:
        ok = all(r.ok for r in results)
        verdict = "v2 aborted by the judges, v3 promoted" if ok else "the rollouts did NOT end as expected"
        self.console.print(Text(f"Summary: {'OK' if ok else 'FAILED'}: {verdict}, in {elapsed_s:.1f} s",
                                style="bold green" if ok else "bold red"))
        for r in results:
            line = Text("  ✓ " if r.ok else "  ✗ ", style="green" if r.ok else "bold red") + Text(f"{r.name}  ")
            line += Text(r.phase, style=PHASE_STYLES.get(r.phase, "bold"))
            line += Text(f" (expected {r.expected}) after {r.elapsed_s:.1f} s: {short_reason(r.reason)}")
            self.console.print(line)
            if r.forced:
                self.console.print(Text(f"      policy: {r.forced}", style="yellow"))
            for judge in r.judges:
                self.console.print(Text(f"      judge {judge}"))

    def urls(self, server: str, proxy: str, rollouts: Sequence[str]) -> None:
        rows = [("server (UI and API)", f"{server}/"), ("demo service (proxy)", proxy),
                ("rollouts", f"{server}/api/v1/rollouts"), ("SLOs", f"{server}/api/v1/slos")]
        rows += [("explain", f"sloguard rollout explain {name} --url {server}") for name in rollouts]
        for what, where in rows:
            self.console.print(Text(f"  {what:<21}", style="bold") + Text(where))


def _new_verdicts(view: dict[str, Any]) -> list[tuple[str, dict[str, Any], str]]:
    """(metric, verdict, startedAt) of every judge measurement in the view."""
    out = []
    for analysis in view.get("analyses") or ():
        for metric in analysis.get("metrics") or ():
            for m in metric.get("measurements") or ():
                if m.get("verdict"):
                    out.append((str(metric.get("name", "?")), m["verdict"], str(m.get("startedAt", ""))))
    return out


def without_result(text: str) -> str:
    """``text`` without the JSON of an analysis result (`` with result {...}``)."""
    at = text.find(" with result {")
    if at < 0:
        return text
    depth, end = 0, at + len(" with result ")
    for end in range(end, len(text)):  # noqa: B020  # end is where the scan stopped
        depth += {"{": 1, "}": -1}.get(text[end], 0)
        if depth == 0:
            break
    return text[:at] + text[end + 1:]


def short_reason(reason: str) -> str:
    """An abort reason up to the analysis limit it passed (the judges' lines say the rest)."""
    return without_result(reason).split("; last measurement")[0]
