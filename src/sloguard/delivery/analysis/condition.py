"""The safe condition language of analysis metrics (``successCondition``, ``failureCondition``).

It reads what Argo Rollouts users write with expr-lang: ``result[0] >= 0.95``,
``len(result) == 0``, ``all(result, {# < 0.5})``, ``isNaN(result[0])``, ``&&``/``and``,
``||``/``or``, ``!``/``not``, arithmetic, comparisons, ``in``, ``??``, ``?:``, string,
number, bool and nil literals, and Argo's functions (``asInt``, ``asFloat``, ``isNaN``,
``isInf``, ``isNil``, ``default``). ``result`` is a number, a list of numbers (a PromQL
vector) or JSON (the web provider). It is parsed by its own tokenizer and recursive-descent
parser into a tree, evaluated by walking the tree with bounded depth, size and steps; no
Python ``eval``, no attribute access (``.name`` reads a JSON map key, nothing else).

    >>> Condition.compile("result[0] >= 0.95").evaluate([0.97])
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sloguard.delivery.analysis import _cond_ast as A
from sloguard.delivery.analysis._cond_errors import ConditionError
from sloguard.delivery.analysis._cond_eval import MAX_STEPS, Evaluator
from sloguard.delivery.analysis._cond_parse import FUNCTIONS, MAX_CHARS, MAX_DEPTH, MAX_NODES, parse
from sloguard.delivery.analysis._cond_values import show, type_name

__all__ = [
    "FUNCTIONS", "MAX_CHARS", "MAX_DEPTH", "MAX_NODES", "MAX_STEPS", "Condition", "ConditionError",
    "normalise_result",
]


@dataclass(frozen=True, slots=True)
class Condition:
    """A parsed condition; ``text`` as written. Compiling checks the syntax, the names and
    the limits; evaluating checks the types against the actual ``result``."""

    text: str
    tree: A.Node = field(repr=False, compare=False)

    @classmethod
    def compile(cls, text: str) -> Condition:
        """Parse ``text``; ``ConditionError`` names the column of the problem."""
        return cls(text, parse(text))

    def evaluate(self, result: object) -> bool:
        """True or false for this ``result``; anything else is a ``ConditionError``."""
        try:
            value = Evaluator(self.text, normalise_result(result)).run(self.tree)
        except RecursionError:
            raise ConditionError(self.text, 0, "the result is nested too deeply to evaluate") from None
        if not isinstance(value, bool):
            raise ConditionError(self.text, 0, f"the condition gave {type_name(value)} {show(value)}, not true or false")
        return value


def normalise_result(result: object) -> object:
    """A provider's result in the language's value types: tuples become lists, numpy and
    other real numbers become floats, map keys strings. Raises ``ConditionError`` for a
    value no provider can produce, or one nested too deeply."""
    try:
        return _normalise(result)
    except RecursionError:
        raise ConditionError("", 0, "the metric result is nested too deeply to be judged") from None


def _normalise(result: object) -> object:
    if result is None or isinstance(result, bool | int | float | str):
        return result
    if isinstance(result, list | tuple):
        return [_normalise(x) for x in result]
    if isinstance(result, dict):
        return {str(k): _normalise(v) for k, v in result.items()}
    if hasattr(result, "__float__"):
        return float(result)  # numpy scalars
    raise ConditionError("", 0, f"a metric result of type {type(result).__name__} cannot be used in a condition")
