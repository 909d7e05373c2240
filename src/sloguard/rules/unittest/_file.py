"""The ``promtool test rules`` file format, decoded strictly (unknown fields are errors)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from sloguard.durations import parse_duration_ms
from sloguard.nesting import yaml_compose
from sloguard.rules._errors import RulesError


class UnitTestFileError(RulesError):
    """The file is not a valid unit test file; ``str()`` is the message promtool prints."""


@dataclass(frozen=True, slots=True)
class InputSeries:
    series: str
    values: str


@dataclass(frozen=True, slots=True)
class ExpAlert:
    labels: dict[str, str]
    annotations: dict[str, str]


@dataclass(frozen=True, slots=True)
class AlertTestCase:
    eval_time_ms: int
    alertname: str
    exp_alerts: tuple[ExpAlert, ...]


@dataclass(frozen=True, slots=True)
class ExpSample:
    labels: str
    value: float


@dataclass(frozen=True, slots=True)
class PromqlTestCase:
    expr: str
    eval_time_ms: int
    exp_samples: tuple[ExpSample, ...]


@dataclass(frozen=True, slots=True)
class TestGroup:
    interval_ms: int
    input_series: tuple[InputSeries, ...] = ()
    alert_rule_tests: tuple[AlertTestCase, ...] = ()
    promql_expr_tests: tuple[PromqlTestCase, ...] = ()
    external_labels: dict[str, str] = field(default_factory=dict)
    external_url: str = ""
    name: str = ""


@dataclass(frozen=True, slots=True)
class UnitTestFile:
    rule_files: tuple[str, ...]
    evaluation_interval_ms: int
    group_eval_order: tuple[str, ...]
    tests: tuple[TestGroup, ...]


_YAML_NUMBER = re.compile(r"[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)(?:[eE][-+]?[0-9]+)?")
_FILE_FIELDS = ("rule_files", "evaluation_interval", "group_eval_order", "tests")
_GROUP_FIELDS = ("interval", "input_series", "alert_rule_test", "promql_expr_test",
                 "external_labels", "external_url", "name")


class _Decoder:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def mapping(self, node: Node | None, type_name: str, fields: tuple[str, ...]) -> dict[str, Node]:
        if node is None or _is_null(node):
            return {}
        if not isinstance(node, MappingNode):
            self.errors.append(f"line {_line(node)}: cannot unmarshal {_tag(node)} into {type_name}")
            return {}
        out: dict[str, Node] = {}
        for k, v in node.value:
            if str(k.value) not in fields:
                self.errors.append(f"line {_line(k)}: field {k.value} not found in type {type_name}")
            else:
                out[str(k.value)] = v
        return out

    def seq(self, node: Node | None, type_name: str) -> list[Node]:
        if node is None or _is_null(node):
            return []
        if not isinstance(node, SequenceNode):
            self.errors.append(f"line {_line(node)}: cannot unmarshal {_tag(node)} into {type_name}")
            return []
        return list(node.value)

    def text(self, node: Node | None) -> str:
        if node is None or _is_null(node):
            return ""
        if isinstance(node, ScalarNode):
            return str(node.value)
        self.errors.append(f"line {_line(node)}: cannot unmarshal {_tag(node)} into string")
        return ""

    def duration(self, node: Node | None) -> int:
        t = self.text(node)
        if t == "":
            return 0
        try:
            return parse_duration_ms(t)
        except ValueError as e:
            raise UnitTestFileError(str(e)) from None

    def number(self, node: Node | None) -> float:
        """A YAML 1.1 number as yaml.v2 decodes into float64 (``NaN`` is a string there)."""
        t = self.text(node).strip()
        if not t:
            return 0.0
        special = {".inf": "inf", "+.inf": "inf", "-.inf": "-inf", ".nan": "nan"}
        if t.lower() in special:
            return float(special[t.lower()])
        if _YAML_NUMBER.fullmatch(t):
            return float(t.replace("_", ""))
        self.errors.append(f"line {_line(node)}: cannot unmarshal !!str `{t}` into float64")
        return 0.0

    def str_map(self, node: Node | None) -> dict[str, str]:
        if node is None or _is_null(node):
            return {}
        if not isinstance(node, MappingNode):
            self.errors.append(f"line {_line(node)}: cannot unmarshal {_tag(node)} into map[string]string")
            return {}
        return {str(k.value): self.text(v) for k, v in node.value}


def _is_null(n: Node) -> bool:
    return isinstance(n, ScalarNode) and n.tag.endswith(":null")


def _line(n: Node | None) -> int:
    return 0 if n is None else n.start_mark.line + 1


def _tag(n: Node) -> str:
    short = n.tag.rsplit(":", 1)[-1]
    return f"!!{short} `{n.value}`" if isinstance(n, ScalarNode) else f"!!{short}"


def parse_unit_test_file(text: str) -> UnitTestFile:
    try:
        root = yaml_compose(text, yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise UnitTestFileError(f"yaml: line {mark.line + 1 if mark else 0}: {getattr(e, 'problem', e)}") from None
    d = _Decoder()
    top = d.mapping(root, "main.unitTestFile", _FILE_FIELDS)
    rule_files = tuple(d.text(n) for n in d.seq(top.get("rule_files"), "[]string"))
    order = tuple(d.text(n) for n in d.seq(top.get("group_eval_order"), "[]string"))
    eval_interval = d.duration(top.get("evaluation_interval")) or 60_000
    tests = tuple(_group(d, n) for n in d.seq(top.get("tests"), "[]main.testGroup"))
    if d.errors:
        raise UnitTestFileError("yaml: unmarshal errors:\n" + "\n".join("  " + e for e in d.errors))
    return UnitTestFile(rule_files, eval_interval, order, tests)


def _group(d: _Decoder, node: Node) -> TestGroup:
    g = d.mapping(node, "main.testGroup", _GROUP_FIELDS)
    series = tuple(
        InputSeries(d.text(m.get("series")), d.text(m.get("values")))
        for m in (d.mapping(n, "main.series", ("series", "values")) for n in d.seq(g.get("input_series"), "[]main.series"))
    )
    alerts = tuple(_alert_case(d, n) for n in d.seq(g.get("alert_rule_test"), "[]main.alertTestCase"))
    exprs = tuple(_promql_case(d, n) for n in d.seq(g.get("promql_expr_test"), "[]main.promqlTestCase"))
    return TestGroup(
        interval_ms=d.duration(g.get("interval")) or 60_000,  # promtool: 1m, not evaluation_interval
        input_series=series, alert_rule_tests=alerts, promql_expr_tests=exprs,
        external_labels=d.str_map(g.get("external_labels")),
        external_url=d.text(g.get("external_url")), name=d.text(g.get("name")),
    )


def _alert_case(d: _Decoder, node: Node) -> AlertTestCase:
    m = d.mapping(node, "main.alertTestCase", ("eval_time", "alertname", "exp_alerts"))
    exp = []
    for n in d.seq(m.get("exp_alerts"), "[]main.alert"):
        a = d.mapping(n, "main.alert", ("exp_labels", "exp_annotations"))
        exp.append(ExpAlert(d.str_map(a.get("exp_labels")), d.str_map(a.get("exp_annotations"))))
    return AlertTestCase(d.duration(m.get("eval_time")), d.text(m.get("alertname")), tuple(exp))


def _promql_case(d: _Decoder, node: Node) -> PromqlTestCase:
    m = d.mapping(node, "main.promqlTestCase", ("expr", "eval_time", "exp_samples"))
    samples = []
    for n in d.seq(m.get("exp_samples"), "[]main.sample"):
        s = d.mapping(n, "main.sample", ("labels", "value"))
        samples.append(ExpSample(d.text(s.get("labels")), d.number(s.get("value"))))
    return PromqlTestCase(d.text(m.get("expr")), d.duration(m.get("eval_time")), tuple(samples))
