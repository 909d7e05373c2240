"""Recording rules: evaluate, rename to the record name, apply the rule's labels."""

from __future__ import annotations

from sloguard.labels import Labels, LabelsBuilder
from sloguard.promql import Sample, Vector
from sloguard.rules._rule import QueryFunc, RuleBase, RuleEvalError


class RecordingRule(RuleBase):
    """Stores its expression's result under the record name, with the rule's labels."""

    def eval(self, ts: int, query: QueryFunc, limit: int = 0) -> Vector:
        """The samples to store at ``ts``; raises :class:`RuleEvalError` like Prometheus."""
        out: Vector = []
        seen: set[Labels] = set()
        for s in query(self._expr, ts):
            lb = LabelsBuilder(s.labels).set("__name__", self._name)
            for k, v in self.rule_labels:
                lb.set(k, v)
            ls = lb.labels()
            if ls in seen:
                raise RuleEvalError(
                    "vector contains metrics with the same labelset after applying rule labels"
                )
            seen.add(ls)
            out.append(Sample(ls, ts, s.v))
        if limit > 0 and len(out) > limit:
            raise RuleEvalError(f"exceeded limit of {limit} with {len(out)} series")
        return out
