"""Fewer commits per group evaluation: rule outputs are batched and committed only before
a rule that reads a metric still pending (or may read anything), so a later rule always
sees an earlier one's output at the same timestamp, while a group of independent rules
commits once (one WAL fsync instead of one per rule)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from sloguard.labels import Labels
from sloguard.promql import Vector
from sloguard.rules._rule import RuleHealth, RuleStatus
from sloguard.tsdb import STALE_NAN, Appender, Storage


class _Rule(Protocol):
    status: RuleStatus


def referenced_metrics(expr: str) -> frozenset[str] | None:
    """Metric names ``expr`` selects; ``None`` when it may select any (no or regex name)."""
    try:
        from sloguard.promql._ast import parse

        node = parse(expr)
    except Exception:  # noqa: BLE001 - unknown: the caller commits before this rule
        return None
    names: set[str] = set()
    for sel in _selectors(node):
        name = sel.name or next(
            (m.value for m in sel.matchers if m.name == "__name__" and m.type.value == "="), None
        )
        if not name:
            return None
        names.add(name)
    return frozenset(names)


def _selectors(node: Any) -> Iterator[Any]:
    from sloguard.promql._ast import VectorSelector

    if isinstance(node, VectorSelector):
        yield node
        return
    for attr in ("selector", "expr", "lhs", "rhs", "param"):
        child = getattr(node, attr, None)
        if child is not None:
            yield from _selectors(child)
    for child in getattr(node, "args", ()):
        yield from _selectors(child)


@dataclass(slots=True)
class WriteBatch:
    """Pending rule outputs of one evaluation; ``flush`` commits them."""

    storage: Storage
    names: set[str] = field(default_factory=set)
    rules: list[tuple[_Rule, frozenset[str]]] = field(default_factory=list)
    _app: Appender | None = None
    _stale: Appender | None = None

    def must_flush_before(self, needs: frozenset[str] | None) -> bool:
        return bool(self.rules) and (needs is None or not needs.isdisjoint(self.names))

    def add(self, rule: _Rule, produces: frozenset[str], vec: Vector, gone: set[Labels], ts: int) -> None:
        try:
            self._add(vec, gone, ts)
        except Exception as e:  # noqa: BLE001 - a storage failure is this rule's lastError
            _blame([(rule, produces)], [f"storing the rule's output failed: {e}"], everyone=True)
            return
        self.rules.append((rule, produces))
        self.names |= produces

    def _add(self, vec: Vector, gone: set[Labels], ts: int) -> None:
        if vec:
            if self._app is None:
                self._app = self.storage.appender(durable=False)
            for s in vec:
                self._app.append(s.labels, s.t, s.v)
        if gone:
            if self._stale is None:
                self._stale = self.storage.appender(durable=False)
            for ls in sorted(gone):
                self._stale.append(ls, ts, STALE_NAN)

    def flush(self) -> None:
        """Commit; a rejection becomes the lastError of the rules whose series it names."""
        app, stale, rules = self._app, self._stale, self.rules
        self._app = self._stale = None
        self.rules, self.names = [], set()
        try:
            if app is not None:
                res = app.commit()
                if res.rejected_total:
                    _blame(rules, res.errors or ["samples rejected"])
            if stale is not None:
                stale.commit()  # rejections are expected when another rule now writes the series
        except Exception as e:  # noqa: BLE001 - a storage failure is these rules' lastError
            _blame(rules, [f"storing the rule's output failed: {e}"], everyone=True)


def _blame(rules: list[tuple[_Rule, frozenset[str]]], errors: list[str], everyone: bool = False) -> None:
    hit = [(r, next((e for e in errors if any(n in e for n in names)), None)) for r, names in rules]
    if everyone or not any(e for _, e in hit):
        hit = [(r, errors[0]) for r, _ in rules]
    for r, e in hit:
        if e is not None:
            r.status.health = RuleHealth.BAD
            r.status.last_error = e
