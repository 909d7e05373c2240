"""Run promtool unit-test files: lazily loaded input series, every group evaluated at each
``evaluation_interval`` step, alert and PromQL expectations checked, promtool's report."""

from __future__ import annotations

import glob
import math
import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from sloguard.durations import format_duration_ms, format_go_duration
from sloguard.gofmt import go_quote
from sloguard.labels import Labels
from sloguard.promql import PromQLError
from sloguard.promql.engine import EngineOptions, PromQLEngine
from sloguard.promql.testscript import NotationError, parse_series_desc
from sloguard.rules._alert import AlertState
from sloguard.rules._errors import RuleFileError
from sloguard.rules._group import Group
from sloguard.rules._manager import RuleManager
from sloguard.rules._options import ManagerOptions
from sloguard.rules._rule import RuleEvalError, engine_query_func
from sloguard.rules.unittest._file import (
    TestGroup,
    UnitTestFile,
    UnitTestFileError,
    parse_unit_test_file,
)
from sloguard.rules.unittest._report import (
    LabelsAndAnnotations,
    alerts_string,
    indent_lines,
    samples_string,
)
from sloguard.tsdb.testing import MemoryStorage

Out = Callable[[str], None]


def run_rule_tests(files: list[str], out: Out, err: Out) -> int:
    """``promtool test rules FILE...``: returns the exit code (1 if any file failed)."""
    failed = False
    for f in files:
        errs = _run_file(f, out, err)
        if errs:
            err("  FAILED:")
            for e in errs:
                err(e)
                out("")
            failed = True
        else:
            out("  SUCCESS")
        out("")
    return 1 if failed else 0


def _run_file(filename: str, out: Out, err: Out) -> list[str]:
    out(f"Unit Testing:  {filename}")
    try:
        text = Path(filename).read_text(encoding="utf-8")
        utf = parse_unit_test_file(text)
    except OSError as e:
        return [f"open {filename}: {(e.strerror or str(e)).lower()}"]
    except UnitTestFileError as e:
        return [str(e)]
    rule_files = _resolve(os.path.dirname(filename), utf, err)
    order: dict[str, int] = {}
    for i, name in enumerate(utf.group_eval_order):
        if name in order:
            return [f"group name repeated in evaluation order: {name}"]
        order[name] = i
    errs: list[str] = []
    for tg in utf.tests:
        errs.extend(_GroupRun(tg, utf.evaluation_interval_ms, order, rule_files).run())
    return errs


def _resolve(base: str, utf: UnitTestFile, err: Out) -> list[str]:
    out: list[str] = []
    for rf in utf.rule_files:
        path = os.path.normpath(os.path.join(base, rf)) if rf and not os.path.isabs(rf) else rf
        matches = sorted(glob.glob(path))
        if not matches:
            err(f"  WARNING: no file match pattern {path}")
        out.extend(matches)
    return out


_BRACES = re.compile(r"Expected ',' or '\}' at column (\d+) of '(.*)'\.$", re.S)


def _series_error(e: NotationError) -> str:
    m = _BRACES.search(str(e))
    if m:
        col = int(m.group(1))
        return f"1:{col}: parse error: unexpected character inside braces: '{m.group(2)[col - 1:col]}'"
    return f"parse error: {e}"


class _GroupRun:
    def __init__(self, tg: TestGroup, eval_interval: int, order: dict[str, int], rule_files: list[str]) -> None:
        self.tg = tg
        self.eval_interval = eval_interval
        self.order = order
        self.rule_files = rule_files
        self.storage = MemoryStorage()
        self.engine = PromQLEngine(self.storage, EngineOptions(default_subquery_step_ms=eval_interval))
        self.query = engine_query_func(self.engine)
        self.pending: list[tuple[Labels, np.ndarray, np.ndarray]] = []

    def run(self) -> list[str]:
        try:
            self._load_series()
        except NotationError as e:
            return [_series_error(e)]
        try:
            groups = self._load_groups()
        except RuleFileError as e:
            return list(e.errors)
        for tc in self.tg.alert_rule_tests:
            if not tc.alertname:
                where = f" (in TestGroup {self.tg.name})" if self.tg.name else ""
                return [f"an item under alert_rule_test misses required attribute alertname at eval_time {format_duration_ms(tc.eval_time_ms)}{where}"]
        errs: list[str] = []
        if not self._evaluate(groups, errs):
            return errs
        errs.extend(self._check_exprs())
        return errs

    def _load_series(self) -> None:
        step = self.tg.interval_ms
        for s in self.tg.input_series:
            labels, values = parse_series_desc(f"{s.series} {s.values}")
            ts = [i * step for i, v in enumerate(values) if v is not None]
            vs = [v for v in values if v is not None]
            self.pending.append((labels, np.asarray(ts, np.int64), np.asarray(vs, np.float64)))

    def _load_till(self, t: int) -> None:
        app = self.storage.appender()
        rest = []
        for labels, ts, vs in self.pending:
            k = int(np.searchsorted(ts, t, side="right"))
            if k:
                app.append_many(labels, ts[:k], vs[:k])
            if k < len(ts):
                rest.append((labels, ts[k:], vs[k:]))
        app.commit()
        self.pending = rest

    def _load_groups(self) -> list[Group]:
        opts = ManagerOptions(
            query=self.query, storage=self.storage, default_interval_ms=self.tg.interval_ms,
            external_labels=dict(self.tg.external_labels), external_url=self.tg.external_url,
        )
        groups = list(RuleManager(opts).load_groups(self.rule_files, self.tg.interval_ms).values())
        groups.sort(key=lambda g: self.order.get(g.name, 0))
        for g in groups:
            for r in g.alerting_rules():
                r.restored = True
        return groups

    def _max_eval_time(self) -> int:
        times = [a.eval_time_ms for a in self.tg.alert_rule_tests] + [p.eval_time_ms for p in self.tg.promql_expr_tests]
        return max(times, default=0)

    def _evaluate(self, groups: list[Group], errs: list[str]) -> bool:
        alert_times = sorted({a.eval_time_ms for a in self.tg.alert_rule_tests})
        cur = 0
        maxt = self._max_eval_time()
        ts = 0
        while ts <= maxt:
            self._load_till(ts)
            eval_errs = []
            for g in groups:
                g.eval(ts)
                for r in g.rules:
                    if r.status.last_error:
                        eval_errs.append(f"    rule: {r.name}, time: {format_go_duration(ts * 1_000_000)}, err: {r.status.last_error}")
            errs.extend(eval_errs)
            if eval_errs:
                return False
            while cur < len(alert_times) and ts <= alert_times[cur] < ts + self.eval_interval:
                errs.extend(self._check_alerts(groups, alert_times[cur]))
                cur += 1
            ts += self.eval_interval
        return True

    def _check_alerts(self, groups: list[Group], t: int) -> list[str]:
        cases = [c for c in self.tg.alert_rule_tests if c.eval_time_ms == t]
        names = {c.alertname for c in cases}
        got: dict[str, LabelsAndAnnotations] = {}
        for g in groups:
            for r in g.alerting_rules():
                if r.name not in names:
                    continue
                got.setdefault(r.name, []).extend(
                    (tuple(a.labels), a.annotations) for a in r.active_alerts() if a.state == AlertState.FIRING
                )
        errs = []
        for c in cases:
            exp: LabelsAndAnnotations = [
                (tuple(Labels({**e.labels, "alertname": c.alertname}.items())), tuple(sorted(e.annotations.items())))
                for e in c.exp_alerts
            ]
            have = sorted(got.get(c.alertname, []))
            exp.sort()
            if exp != have:
                name = f"    name: {self.tg.name},\n" if self.tg.name else ""
                errs.append(
                    f"{name}    alertname: {c.alertname}, time: {format_duration_ms(c.eval_time_ms)}, \n"
                    f"        exp:{indent_lines(alerts_string(exp), ' ' * 12)}, \n"
                    f"        got:{indent_lines(alerts_string(have), ' ' * 12)}"
                )
        return errs

    def _check_exprs(self) -> list[str]:
        errs = []
        for tc in self.tg.promql_expr_tests:
            head = f"    expr: {go_quote(tc.expr)}, time: {format_duration_ms(tc.eval_time_ms)}"
            try:
                vec = self.query(tc.expr, tc.eval_time_ms)
            except (PromQLError, RuleEvalError) as e:
                errs.append(f"{head}, err: {e}")
                continue
            got = sorted((tuple(s.labels), s.v) for s in vec)
            try:
                exp = sorted((tuple(_parse_metric(s.labels)), s.value) for s in tc.exp_samples)
            except NotationError as e:
                bad = next(x.labels for x in tc.exp_samples if _metric_error(x.labels) is not None)
                errs.append(f"{head}, err: labels {go_quote(bad)}: {_metric_error(bad) or e}")
                continue
            if not _samples_equal(exp, got):
                errs.append(f"{head},\n        exp: {samples_string(exp)}\n        got: {samples_string(got)}")
        return errs


def _parse_metric(text: str) -> Labels:
    if text.strip() == "":
        return Labels()
    labels, values = parse_series_desc(text)
    if values:
        raise NotationError(f"unexpected values after the metric in {text!r}")
    return labels


def _metric_error(text: str) -> str | None:
    """Go's ``parser.ParseMetric`` error text for ``text`` (via the PromQL parser)."""
    try:
        _parse_metric(text)
    except NotationError as e:
        try:
            from sloguard.promql._ast import parse

            parse(text)
        except Exception as pe:  # noqa: BLE001 - the parser's message is what we want
            return str(pe)
        return str(e)
    return None


def _samples_equal(a: list[tuple[tuple[tuple[str, str], ...], float]], b: list[tuple[tuple[tuple[str, str], ...], float]]) -> bool:
    if len(a) != len(b):
        return False
    return all(la == lb and va == vb and not (math.isnan(va) or math.isnan(vb)) for (la, va), (lb, vb) in zip(a, b, strict=True))
