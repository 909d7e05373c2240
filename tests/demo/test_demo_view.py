"""What `sloguard demo` prints: a line per change and per new verdict (never twice), the
summary with the short abort reason, and no analysis-result JSON."""

from __future__ import annotations

import io

from rich.console import Console

from sloguard.cli._demo_view import DemoView, short_reason, without_result
from sloguard.demo.flows import FlowResult

REASON = ('The background analysis ended Failed: Metric "errors" assessed Failed: failed (1) > failureLimit (0); '
          'last measurement Failed with result {"baseline":{"observations":12.0},"canary":[1,2]}: look 1: canary worse.')
VERDICT = {"judge": "sequential", "outcome": "fail", "p_value": 1.6e-05, "likelihood_ratio": 6.3e4, "reason": "look 1: canary worse"}


def _view() -> tuple[DemoView, io.StringIO]:
    out = io.StringIO()
    return DemoView(Console(file=out, width=300, highlight=False, soft_wrap=True)), out


def test_a_line_per_change_and_per_new_verdict_never_twice() -> None:
    view, out = _view()
    running = {"phase": "Paused", "step": 2, "steps": 6, "canary": "v2", "canaryWeight": 10, "message": "Step 2: waiting for 9 s."}
    view.update("checkout-v2", running)
    view.update("checkout-v2", running)
    aborted = {**running, "phase": "Degraded", "step": None, "canaryWeight": 0, "message": f"Aborted: {REASON}",
               "analyses": [{"metrics": [{"name": "errors", "measurements": [{"startedAt": "t1", "verdict": VERDICT}]}]}]}
    view.update("checkout-v2", aborted)
    view.update("checkout-v2", aborted)
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    assert "checkout-v2  Paused      step 2/6  v2  10%  Step 2: waiting for 9 s." in lines[0]
    assert "Degraded    step -/6  v2   0%  Aborted: The background analysis ended Failed" in lines[1]
    assert "{" not in lines[1] and "last measurement Failed: look 1: canary worse." in lines[1]
    assert "judge errors: sequential fail (p = 1.6e-05, likelihood ratio 6.3e+04): look 1: canary worse" in lines[2]


def test_the_summary_says_ok_only_when_every_flow_ended_as_expected() -> None:
    view, out = _view()
    good = FlowResult("checkout-v2", "v2", "Degraded", "Degraded", REASON, ("errors: sequential fail",), 30.2)
    bad = FlowResult("checkout-v3", "v3", "Healthy", "Degraded", "Aborted by demo", (), 5.0)
    view.summary([good], 31.0)
    view.summary([good, bad], 36.0)
    text = out.getvalue()
    assert "Summary: OK: v2 aborted by the judges, v3 promoted, in 31.0 s" in text
    assert "✓ checkout-v2  Degraded (expected Degraded) after 30.2 s: The background analysis ended Failed: " \
           'Metric "errors" assessed Failed: failed (1) > failureLimit (0)\n' in text
    assert "      judge errors: sequential fail" in text
    assert "Summary: FAILED: the rollouts did NOT end as expected, in 36.0 s" in text
    assert "✗ checkout-v3  Degraded (expected Healthy) after 5.0 s: Aborted by demo" in text


def test_result_json_is_cut_out_whatever_it_nests() -> None:
    assert without_result("a with result {\"x\":{\"y\":[1]}}: b") == "a: b"
    assert without_result("no result here") == "no result here"
    assert short_reason(REASON) == 'The background analysis ended Failed: Metric "errors" assessed Failed: failed (1) > failureLimit (0)'
