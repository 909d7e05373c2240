"""Generated deep and long PromQL for the parse-limit fuzz tests.

``expressions()`` builds random mixes of nesting (parentheses, calls, aggregations,
subqueries, unary runs), operator chains, selectors, strings and comments full of brackets,
and raw noise; each example carries the depth and chain its structure has for certain
(brackets in strings and comments do not count), so the scan can be checked not to
under-count. Run as ``python -m tests.promql._parse_fuzz N CASEFILE``, it feeds N examples
through every parse path in this process (a separate one: a native crash must not kill
pytest), writing each text to CASEFILE before parsing it, and exits 0 when none crashed.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


@dataclass(frozen=True, slots=True)
class Gen:
    """A generated text with the nesting depth and chain length its structure surely has."""

    text: str
    depth: int
    chain: int


ATOMS = [
    "x", "up", '{job="a"}', 'x{a="(("}', "1", "2.5e+3", "0x1F", "Inf", "rate(x[5m])",
    '"str(("', "`raw[[`", "x offset 5m", "x @ 100", 'x{a=~"a+b*(c)"}', "'q\\'(('",
]
NOISE = "()[]{}\"'`\\#\n\r+-*^,:=~! abcor5m"
OPS = ["+", "-", "*", "/", "%", "^", " or ", " and ", " unless ", " > bool ", " == ", " atan2 ", " + on(job) "]
WRAPS = [("(", ")"), ("abs(", ")"), ("sum(", ")"), ("sum by (job) (", ")"), ("max_over_time((", ")[5m:1m])"),
         ("-(", ")"), ("rate(", ")"), ("label_replace(", ', "a", "(", "b", ")")')]
SIZES = st.one_of(st.integers(0, 5), st.integers(150, 220), st.integers(280, 320), st.integers(0, 2000))


@st.composite
def _atom(draw: st.DrawFn) -> Gen:
    text = draw(st.sampled_from(ATOMS))
    if draw(st.booleans()):
        noise = draw(st.text(alphabet=NOISE, max_size=12))
        text = f'{text} # {noise.replace(chr(10), " ").replace(chr(13), " ")}\n'
    return Gen(text, 0, 0)


def _nest(inner: Gen, n: int, wrap: tuple[str, str]) -> Gen:
    extra = 2 if wrap[1].startswith(")[") else 1
    return Gen(wrap[0] * n + inner.text + wrap[1] * n, inner.depth + n * extra, inner.chain)


#: Generated texts stay below about this many characters (chains repeat their operand).
MAX_TEXT = 40_000


def _chain(inner: Gen, n: int, op: str) -> Gen:
    n = min(n, MAX_TEXT // (len(inner.text) + len(op)))
    return Gen(op.join([inner.text] * (n + 1)), inner.depth, max(inner.chain, n))


@st.composite
def _step(draw: st.DrawFn, inner: Gen) -> Gen:
    kind = draw(st.sampled_from(["nest", "chain", "unary", "mixed"]))
    n = draw(SIZES)
    if len(inner.text) > MAX_TEXT:
        return inner
    if kind == "nest":
        return _nest(inner, n, draw(st.sampled_from(WRAPS)))
    if kind == "chain":
        return _chain(inner, n, draw(st.sampled_from(OPS)))
    if kind == "unary":
        return Gen("-" * n + inner.text, inner.depth + n, inner.chain)
    part = f"(x {draw(st.sampled_from(OPS))} "
    return Gen(part * n + inner.text + ")" * n, inner.depth + n, inner.chain)


@st.composite
def expressions(draw: st.DrawFn) -> Gen:
    g = draw(_atom())
    for _ in range(draw(st.integers(1, 3))):
        g = draw(_step(g))
    if draw(st.integers(0, 4)) == 0:  # noise anywhere: unbalanced brackets, open strings, comments
        at = draw(st.integers(0, len(g.text)))
        noise = draw(st.text(alphabet=NOISE, min_size=1, max_size=8))
        return Gen(g.text[:at] + noise + g.text[at:], 0, 0)
    return g


def _one(text: str) -> None:
    """Every parse path on ``text``: errors are fine, a crash or RecursionError is not."""
    import promql_parser

    from sloguard.parselimits import ParseLimitError, check_expression
    from sloguard.promql import ParseError, PromQLError, parse_matchers_text
    from sloguard.promql._ast import parse

    try:
        check_expression(text)
    except ParseLimitError as e:
        assert ": parse error: expression" in str(e)
        return
    try:
        parse(text)
        _ENGINE.instant_query(text, 60_000)
    except PromQLError as e:
        assert not isinstance(e, ParseError) or "parse error" in str(e) or str(e).startswith("1:"), e
        assert "RecursionError" not in str(e) and "nested too deeply" not in str(e), e
    with contextlib.suppress(ValueError):
        parse_matchers_text(text)
    with contextlib.suppress(ValueError):
        promql_parser.parse(text)


_ENGINE: Any = None


def run(examples: int, casefile: str) -> None:
    global _ENGINE
    from sloguard.labels import Labels
    from sloguard.promql import PromQLEngine
    from sloguard.tsdb.testing import MemoryStorage

    st_ = MemoryStorage()
    st_.add(Labels.of(__name__="x", job="a"), [0, 60_000], [1.0, 2.0])
    _ENGINE = PromQLEngine(st_)

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(expressions())
    def check(g: Gen) -> None:
        with open(casefile, "w", encoding="utf-8") as f:
            f.write(g.text)
        _one(g.text)

    errors: list[BaseException] = []

    def target() -> None:  # queries run in worker threads in the server
        try:
            check()
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    t = threading.Thread(target=target)
    t.start()
    t.join()
    if errors:
        raise errors[0]
    print(f"ok {examples}")


if __name__ == "__main__":
    run(int(sys.argv[1]), sys.argv[2])
