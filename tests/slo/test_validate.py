"""`sloguard slo validate`: every problem of every SLO in one run, at the key path of the
text as written, PromQL errors with the original text and a caret, JSON for CI tools."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from sloguard.cli import app
from sloguard.promql import ParseError
from sloguard.promql._ast_parse import parse
from sloguard.slo._errors import Problem
from sloguard.slo._problems import render
from sloguard.slo.loader import load_files, load_text

# Objective 100, a duplicate name and an unclosed parenthesis: three problems (the file).
SLOTH_THREE = """\
version: "prometheus/v1"
service: "checkout"
slos:
  - name: "availability"
    objective: 100
    sli:
      events:
        error_query: sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))
        total_query: sum(rate(http_requests_total[{{.window}}]))
    alerting:
      name: CheckoutAvailability
  - name: "availability"
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{code=~"5.."}[{{.window}}])
        total_query: sum(rate(http_requests_total[{{.window}}]))
    alerting:
      name: CheckoutAvailability2
"""
UNCLOSED = 'sum(rate(http_requests_total{code=~"5.."}[{{.window}}])'


def _good_sloth(*names: str) -> str:
    """A valid Sloth file with one SLO per name."""
    slos = "".join(f"""\
  - name: {n}
    objective: 99.9
    sli:
      events:
        error_query: sum(rate(http_requests_total{{code=~"5.."}}[{{{{.window}}}}]))
        total_query: sum(rate(http_requests_total[{{{{.window}}}}]))
    alerting:
      name: Alert{i}
""" for i, n in enumerate(names))
    return f"version: prometheus/v1\nservice: checkout\nslos:\n{slos}"


def _errors(text: str, source: str = "spec.yml") -> dict[str, Problem]:
    _, problems = load_text(text, source)
    return {p.path: p for p in problems if p.is_error}


def _cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["slo", "validate", *args])
    return result.exit_code, result.stdout, result.output


def test_sloth_file_with_three_problems_reports_all_three() -> None:
    errors = _errors(SLOTH_THREE)
    assert set(errors) == {"slos[0].objective", "slos[1].name", "slos[1].sli.events.error_query"}
    assert "objective 100% is out of range" in errors["slos[0].objective"].message
    assert "duplicate SLO 'availability' of service 'checkout'" in errors["slos[1].name"].message
    assert "first defined at slos[0].name" in errors["slos[1].name"].message


def test_promql_error_quotes_the_text_as_written_with_its_position() -> None:
    p = _errors(SLOTH_THREE)["slos[1].sli.events.error_query"]
    assert p.text == UNCLOSED  # the template is still there: not the rewritten query
    assert "unclosed left parenthesis" in p.message
    assert (p.line, p.column) == (1, len(UNCLOSED) + 1)  # end of input: just after the last character


def test_caret_column_is_mapped_back_through_the_window_template() -> None:
    # The error ("{" is not allowed there) comes after a template that is longer than the
    # window it is filled with; the column must count the template's characters as written.
    text = "sum(rate(errors_total[{{ .window }}])) / sum(rate(requests_total[{{.window}}]){)"
    spec = _good_sloth("a").replace('sum(rate(http_requests_total{code=~"5.."}[{{.window}}]))', text)
    p = _errors(spec)["slos[0].sli.events.error_query"]
    assert p.text == text
    assert p.column == text.index("{)") + 2  # the ")" inside the braces
    # the column is where the same error is in the filled text, moved by the templates' lengths
    filled = text.replace("{{ .window }}", "5m").replace("{{.window}}", "5m")
    try:
        parse(filled)
    except ParseError as e:
        filled_col = int(str(e).split(":")[1])
    assert p.column == filled_col + len("{{ .window }}") - 2 + len("{{.window}}") - 2


def test_window_template_spelled_with_spaces_is_accepted_and_filled_in_rules() -> None:
    from sloguard.slo._sli import error_rate

    spec = _good_sloth("a").replace("[{{.window}}]))\n        total", "[{{  .window }}]))\n        total")
    assert "{{  .window }}" in spec
    slos, problems = load_text(spec, "spec.yml")
    assert problems == []
    assert "[1h]" in error_rate(slos[0], 3_600_000) and "{{" not in error_rate(slos[0], 3_600_000)


def test_multi_line_query_points_at_line_and_column_of_the_text() -> None:
    spec = """\
version: prometheus/v1
service: s
slos:
  - name: latency
    objective: 99
    sli:
      raw:
        error_ratio_query: |
          1 - (sum(rate(h_bucket{le="0.25"}[{{.window}}]))
            / sum(rate(h_count[{{.window}}] offset)))
    alerting: {page_alert: {disable: true}, ticket_alert: {disable: true}}
"""
    p = _errors(spec)["slos[0].sli.raw.error_ratio_query"]
    assert p.text is not None and p.text.startswith("1 - (sum(")
    assert p.line == 2 and p.column is not None
    assert p.text.split("\n")[1][p.column - 1:].startswith(")))")  # "offset" needs a duration


def test_render_shows_the_text_and_a_caret_under_the_column() -> None:
    p = _errors(SLOTH_THREE)["slos[1].sli.events.error_query"]
    head, text_line, caret_line = render(p).split("\n")
    assert head == f"spec.yml:16:77: slos[1].sli.events.error_query: {p.message}"
    gutter = text_line.index(UNCLOSED)
    assert caret_line.index("^") == gutter + len(UNCLOSED)


def _file_pos(text: str, path: str) -> tuple[int | None, int | None]:
    p = _errors(text)[path]
    return p.file_line, p.file_column


def test_file_position_of_an_error_inside_a_plain_query() -> None:
    line, col = _file_pos(SLOTH_THREE, "slos[1].sli.events.error_query")
    assert line is not None and col is not None
    file_line = SLOTH_THREE.split("\n")[line - 1]
    assert file_line[col - 1 - len(UNCLOSED):col - 1] == UNCLOSED  # just after the text, where input ends
    assert _file_pos(SLOTH_THREE, "slos[0].objective") == (5, 16)


def test_file_position_inside_quoted_and_literal_block_queries() -> None:
    spec = """\
apiVersion: sloguard/v1
service: s
slos:
  - name: a
    objective: 99
    sli: {events: {error_query: "sum(rate(e[{{.window}}])) +", total_query: 'sum(rate(t[{{.window}}]))'}}
  - name: b
    objective: 99
    sli:
      raw:
        error_ratio_query: |
          sum(rate(e[{{.window}}]))
            / sum(rate(t[{{.window}}]) by (a b))
"""
    lines = spec.split("\n")
    line, col = _file_pos(spec, "slos[0].sli.events.error_query")
    assert line == 6 and col == lines[5].index('+"') + 2  # end of input: after the "+"
    line, col = _file_pos(spec, "slos[1].sli.raw.error_ratio_query")
    assert line == 13 and lines[12][(col or 0) - 1] == "b"  # the unexpected label name


def test_file_position_of_a_missing_key_is_its_mapping_and_documents_count() -> None:
    spec = _good_sloth("a") + "---\n" + _good_sloth("b").replace("    objective: 99.9\n", "")
    line, col = _file_pos(spec, "documents[1].slos[0].objective")
    assert spec.split("\n")[(line or 0) - 1][(col or 0) - 1:].startswith("name: b")


def test_render_clips_long_lines_around_the_caret() -> None:
    text = "x" * 300 + "{" + "y" * 300
    p = Problem("f", "a", "bad", text=text, line=1, column=301)
    _, shown, caret = render(p).split("\n")
    assert len(shown) < 130 and shown[caret.index("^")] == "{"


def test_openslo_file_reports_every_problem_at_its_key_path() -> None:
    spec = """\
apiVersion: openslo/v1
kind: SLO
metadata:
  name: checkout-availability
spec:
  service: checkout
  budgetingMethod: Sometimes
  indicator:
    metadata: {name: errors}
    spec:
      ratioMetric:
        counter: true
        bad:
          metricSource:
            type: Prometheus
            spec:
              query: http_requests_total{code=~"5..",}[5m
        total:
          metricSource:
            type: Prometheus
            spec:
              query: sum(rate(http_requests_total[5m]))
  timeWindow:
    - duration: 28d
      isRolling: true
  objectives:
    - target: 1.5
"""
    errors = _errors(spec)
    bad = "spec.indicator.spec.ratioMetric.bad.metricSource.spec.query"
    total = "spec.indicator.spec.ratioMetric.total.metricSource.spec.query"
    assert set(errors) == {bad, total, "spec.budgetingMethod", "spec.objectives[0].target"}
    text = 'http_requests_total{code=~"5..",}[5m'
    assert errors[bad].text == text
    assert errors[bad].column == len(text) + 1
    assert "must be a counter selector" in errors[total].message


def test_openslo_problems_in_a_referenced_sli_point_at_that_document() -> None:
    spec = """\
apiVersion: openslo/v1
kind: SLI
metadata: {name: errors}
spec:
  ratioMetric:
    counter: true
    bad: {metricSource: {type: Prometheus, spec: {query: 'errors_total{'}}}
    total: {metricSource: {type: Prometheus, spec: {query: requests_total}}}
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: a}
spec:
  service: s
  indicatorRef: errors
  timeWindow: [{duration: 30d, isRolling: true}]
  objectives: [{target: 0.99}]
---
apiVersion: openslo/v1
kind: SLO
metadata: {name: a}
spec:
  service: s
  indicatorRef: errors
  timeWindow: [{duration: 30d, isRolling: true}]
  objectives: [{target: 0.99}]
"""
    errors = _errors(spec)
    assert set(errors) == {"documents[0].spec.ratioMetric.bad.metricSource.spec.query", "documents[2].metadata.name"}


def test_native_file_reports_every_problem_of_every_slo() -> None:
    spec = """\
apiVersion: sloguard/v1
service: shop
slos:
  - name: latency
    objective: 99.9
    grouping: [route, 1bad]
    sli: {latency: {metric: http_request_duration_seconds, threshold: 0.25, selector: 'job="shop", route'}}
  - name: latency
    objective: 150
    period: 30x
    sli: {ratio: {bad: 'rate(errors_total[5m])', total: requests_total}}
  - name: "-bad-name"
    objective: 99
    labels: {__name__: x, team: ""}
    alerting: {annotations: {"run book": x}, page: {labels: {"sev-erity": page}}}
    sli: {events: {error_query: 'sum(rate(e[{{.windw}}]))', total_query: 'sum(rate(t[{{.window}}]))'}}
"""
    errors = _errors(spec)
    assert set(errors) == {
        "slos[0].grouping[1]", "slos[0].sli.latency.selector",
        "slos[1].name", "slos[1].objective", "slos[1].period", "slos[1].sli.ratio.bad",
        "slos[2].name", "slos[2].labels.__name__", "slos[2].labels.team", "slos[2].sli.events.error_query",
        "slos[2].alerting.annotations.run book", "slos[2].alerting.page.labels.sev-erity",
    }
    assert errors["slos[0].sli.latency.selector"].column == len('job="shop", route') + 1
    assert "unknown template '{{.windw}}'" in errors["slos[2].sli.events.error_query"].message
    assert errors["slos[2].sli.events.error_query"].column == len("sum(rate(e[") + 1


def test_sloth_rules_name_labels_annotations_alert_name_and_templates() -> None:
    spec = """\
version: prometheus/v1
service: s
labels: {"bad-key": v}
slos:
  - name: a
    objective: 99
    sli: {events: {error_query: 'sum(rate(e[5m]))', total_query: 'sum(rate(e[5m]))'}}
    alerting:
      annotations: {summary: ""}
      page_alert: {labels: {sev: page}}
"""
    errors = _errors(spec)
    assert set(errors) == {
        "labels.bad-key", "slos[0].sli.events", "slos[0].sli.events.error_query", "slos[0].sli.events.total_query",
        "slos[0].alerting.name", "slos[0].alerting.annotations.summary",
    }
    assert "must contain the {{.window}} template" in errors["slos[0].sli.events.total_query"].message
    assert "same query" in errors["slos[0].sli.events"].message
    assert "page_alert and ticket_alert is enabled" in errors["slos[0].alerting.name"].message


def test_sloth_objective_is_a_number_in_percent() -> None:
    spec = _good_sloth("a", "b").replace("objective: 99.9", "objective: '99.9%'", 1).replace("objective: 99.9", "objective: 0.999")
    slos, problems = load_text(spec, "spec.yml")
    by_path = {p.path: p for p in problems}
    assert by_path["slos[0].objective"].is_error and "'99.9%'" in by_path["slos[0].objective"].message
    assert not by_path["slos[1].objective"].is_error and "write 99.9 for 99.9%" in by_path["slos[1].objective"].message
    assert [(s.name, round(s.objective, 5)) for s in slos] == [("b", 0.00999)]


def test_sloth_slo_plugins_without_an_equivalent_are_refused_by_id() -> None:
    spec = _good_sloth("a").replace("slos:\n", "slo_plugins: {chain: [{id: x/p1}, {priority: 3}]}\nslos:\n")
    _, problems = load_text(spec, "spec.yml")
    assert [(p.path, p.is_error) for p in problems] == [("slo_plugins.chain[0].id", True), ("slo_plugins.chain[1].id", True)]
    assert "'x/p1' has no sloguard equivalent" in problems[0].message and problems[1].message == "is required"


def test_unknown_sloth_fields_are_warnings_as_sloth_ignores_them() -> None:
    spec = _good_sloth("availability", "b").replace("      name: Alert0\n", "      name: Alert0\n      pageAlert: {}\n")
    slos, problems = load_text(spec, "spec.yml")
    assert [s.name for s in slos] == ["availability", "b"]
    [w] = problems
    assert not w.is_error and w.path == "slos[0].alerting.pageAlert" and "did you mean page_alert?" in w.message


def test_duplicates_across_files_name_both_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(_good_sloth("availability", "b"))
    (tmp_path / "b.yaml").write_text(_good_sloth("availability", "c"))
    slos, problems = load_files([tmp_path / "a.yaml", tmp_path / "b.yaml"])
    assert [(p.source, p.path, p.file_line) for p in problems] == [(str(tmp_path / "b.yaml"), "slos[0].name", 4)]
    assert f"first defined at {tmp_path / 'a.yaml'}: slos[0].name" in problems[0].message
    assert [s.name for s in slos] == ["availability", "b", "c"]  # the repeat is left out
    slos, problems = load_files([tmp_path / "a.yaml", tmp_path / "b.yaml"], ignore_duplicates=True)
    assert problems == [] and len(slos) == 4


def test_cli_text_output_shows_every_problem_with_caret_and_exits_1(tmp_path: Path) -> None:
    (tmp_path / "three.yaml").write_text(SLOTH_THREE)
    code, _, out = _cli(str(tmp_path / "three.yaml"))
    assert code == 1
    assert out.count(str(tmp_path / "three.yaml")) == 3
    assert f"    | {UNCLOSED}\n" in out and "FAILED: 3 problem(s)" in out


def test_cli_json_output_lists_problems_and_slos(tmp_path: Path) -> None:
    (tmp_path / "three.yaml").write_text(SLOTH_THREE)
    (tmp_path / "good.yaml").write_text(_good_sloth("a", "b"))
    code, stdout, _ = _cli("--format", "json", str(tmp_path / "three.yaml"), str(tmp_path / "good.yaml"))
    doc = json.loads(stdout)
    assert code == 1 and doc["valid"] is False
    assert sorted(doc) == ["files", "problems", "slos", "valid", "warnings"]
    assert [p["path"] for p in doc["problems"]] == ["slos[0].objective", "slos[1].sli.events.error_query", "slos[1].name"]
    promql = doc["problems"][1]
    assert promql == {"file": str(tmp_path / "three.yaml"), "path": "slos[1].sli.events.error_query",
                      "message": promql["message"], "text": UNCLOSED, "line": 1, "column": len(UNCLOSED) + 1,
                      "file_line": 16, "file_column": 77}
    assert "line" not in doc["problems"][0] and "text" not in doc["problems"][0]
    assert (doc["problems"][0]["file_line"], doc["problems"][0]["file_column"]) == (5, 16)
    assert [(s["name"], s["service"], s["objective"]) for s in doc["slos"]] == [("a", "checkout", 0.999), ("b", "checkout", 0.999)]


def test_cli_valid_directory_exits_0_and_empty_selection_fails(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "good.yml").write_text(_good_sloth("a", "b"))
    code, stdout, _ = _cli("--format", "json", str(tmp_path))
    assert code == 0 and json.loads(stdout)["valid"] is True and len(json.loads(stdout)["slos"]) == 2
    code, _, out = _cli("--exclude", "good", str(tmp_path))
    assert code == 1 and "no spec files found" in out


def test_server_keeps_one_slo_per_name_so_its_rule_file_stays_loadable(tmp_path: Path) -> None:
    import yaml

    from sloguard.api._slo_setup import SLOSetup
    from sloguard.rules._rulefmt import parse_rule_text

    spec = _good_sloth("a") + "---\n" + _good_sloth("a").replace("service: checkout", "service: payments")
    (tmp_path / "slos.yaml").write_text(spec)
    _, problems = load_text(spec, "slos.yaml")
    assert [p.is_error for p in problems] == [False]  # Sloth allows it: a warning
    setup = SLOSetup([str(tmp_path / "slos.yaml")], str(tmp_path), tmp_path / "gen" / "slo.rules.yml")
    setup.refresh()
    assert [(s.name, s.service) for s in setup.slos] == [("a", "checkout")]
    names = [g["name"] for g in yaml.safe_load((tmp_path / "gen" / "slo.rules.yml").read_text())["groups"]]
    assert len(names) == len(set(names))
    assert parse_rule_text((tmp_path / "gen" / "slo.rules.yml").read_text())[1] == []


def test_a_query_beyond_the_parse_limits_points_at_where_the_limit_is_passed() -> None:
    deep = "(" * 250 + "x" + ")" * 250
    spec = _good_sloth("a").replace("error_query: sum(rate(http_requests_total{code=~\"5..\"}[{{.window}}]))",
                                    f"error_query: sum(rate(x[{{{{.window}}}}])) + {deep}")
    p = _errors(spec)["slos[0].sli.events.error_query"]
    assert "query.max_parse_depth" in p.message and p.text is not None
    # the limit of 200 levels is passed at the 201st "(" of the deep part
    assert p.text[: (p.column or 0) - 1].count("(") == 2 + 200 and p.text[(p.column or 0) - 1] == "("
    shown = render(p).split("\n")
    assert len(shown[1]) < 130  # the line is clipped around the caret
