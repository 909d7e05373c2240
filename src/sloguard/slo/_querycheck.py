"""PromQL texts of a spec checked as written, errors placed in the text the user wrote.

A query may hold Sloth's ``{{.window}}`` template; it is filled with a window before it is
parsed (Prometheus' own parser wording, with its limits) and the position of a parse error
is mapped back through the replacements, so the caret points into the text as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sloguard.labels import is_valid_metric_name
from sloguard.promql import ParseError
from sloguard.promql._ast import VectorSelector
from sloguard.promql._ast_parse import parse
from sloguard.slo._reader import Reader
from sloguard.slo._sli import WINDOW_TEMPLATE

_ANY_TEMPLATE = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_POSITION = re.compile(r"(\d+):(\d+): parse error: (.*)", re.DOTALL)
#: The window the templates are filled with for checking (Sloth uses 1m; any valid one will do).
CHECK_WINDOW = "5m"
_COUNTER_HINT = "a counter selector such as 'http_requests_total{code=~\"5..\"}' or an expression containing {{.window}}"


@dataclass(frozen=True, slots=True)
class Filled:
    """``text`` with each window template replaced; ``spans`` holds, per replacement,
    (start, end) in the original and (start, end) in ``text``, in order."""

    text: str
    spans: tuple[tuple[int, int, int, int], ...]

    def original(self, pos: int) -> int:
        """The offset in the original text of offset ``pos`` in the filled one (a position
        inside a replacement maps to the start of its template)."""
        shift = 0
        for o_start, o_end, f_start, f_end in self.spans:
            if pos < f_start:
                break
            if pos < f_end:
                return o_start
            shift = o_end - f_end
        return pos + shift


def fill(text: str, window: str = CHECK_WINDOW) -> Filled:
    parts: list[str] = []
    spans: list[tuple[int, int, int, int]] = []
    last = size = 0
    for m in WINDOW_TEMPLATE.finditer(text):
        parts.append(text[last:m.start()])
        size += m.start() - last
        spans.append((m.start(), m.end(), size, size + len(window)))
        parts.append(window)
        size += len(window)
        last = m.end()
    parts.append(text[last:])
    return Filled("".join(parts), tuple(spans))


def line_column(text: str, pos: int) -> tuple[int, int]:
    """1-based line and column (in characters) of offset ``pos`` in ``text``."""
    return text.count("\n", 0, pos) + 1, pos - (text.rfind("\n", 0, pos) + 1) + 1


def _offset(text: str, line: int, column: int) -> int:
    start = 0
    for _ in range(line - 1):
        nl = text.find("\n", start)
        if nl < 0:
            break
        start = nl + 1
    return min(start + column - 1, len(text))


def _at(r: Reader, path: str, text: str, pos: int, message: str) -> None:
    pos = max(0, min(pos, len(text.rstrip())))  # "end of input" points after the last character
    line, col = line_column(text, pos)
    where = f"line {line}, column {col}" if "\n" in text.rstrip() else f"column {col}"
    r.problem(path, f"{message} (at {where})", text=text, line=line, column=col)


def check_query(r: Reader, path: str, text: str, *, require_window: bool = False, counter: bool = False) -> bool:
    """Report at ``path`` each way ``text`` fails; True when it is usable.

    ``require_window``: Sloth's rule that SLI queries hold ``{{.window}}``. ``counter``: a
    field that sloguard wraps in ``rate()`` unless it is templated."""
    if not text.strip():
        return False  # the reader reported the missing field
    ok = True
    if require_window and not WINDOW_TEMPLATE.search(text):
        r.problem(path, "must contain the {{.window}} template (each alert window is rendered into it)", text=text)
        ok = False
    filled = fill(text)
    if (m := _ANY_TEMPLATE.search(filled.text)) is not None:
        _at(r, path, text, filled.original(m.start()), f"unknown template {m.group()!r}: only {{{{.window}}}} is supported")
        return False
    try:
        node = parse(filled.text)
    except ParseError as e:
        _parse_problem(r, path, text, filled, str(e))
        return False
    if counter and not filled.spans and not isinstance(node, VectorSelector):
        r.problem(path, f"must be {_COUNTER_HINT}", text=text)
        return False
    return ok


def _parse_problem(r: Reader, path: str, text: str, filled: Filled, error: str) -> None:
    m = _POSITION.match(error)
    if m is None:
        r.problem(path, f"invalid PromQL: {error}", text=text)
        return
    pos = _offset(filled.text, int(m[1]), int(m[2]))
    _at(r, path, text, filled.original(pos), f"invalid PromQL: {m[3]}")


def check_latency(r: Reader, path: str, metric: str, selector: str) -> bool:
    """The histogram's name (at ``path.metric``) and its label matchers (``path.selector``)."""
    if metric and not is_valid_metric_name(metric):
        r.problem(f"{path}.metric", f"{metric!r} is not a valid metric name", text=metric)
        return False
    if not metric or not selector:
        return bool(metric)
    head = f"{metric}_bucket{{"
    try:
        parse(f"{head}{selector}}}")
    except ParseError as e:
        m = _POSITION.match(str(e))
        pos = _offset(f"{head}{selector}}}", int(m[1]), int(m[2])) - len(head) if m else 0
        _at(r, f"{path}.selector", selector, pos, f"invalid label matchers: {m[3] if m else e}")
        return False
    return True
