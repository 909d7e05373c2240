"""Parsing of Prometheus' ``.test`` scripts (v2.42 dialect) into commands."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sloguard.labels import Labels
from sloguard.promql._testscript_notation import (
    NotationError,
    parse_duration_ms,
    parse_number,
    parse_series_desc,
)

_LOAD = re.compile(r"^load\s+(.+?)$")
_EVAL = re.compile(r"^eval(?:_(fail|ordered))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$")
_EVAL_RANGE = re.compile(r"^eval(?:_(fail))?\s+range\s+from\s+(.+?)\s+to\s+(.+?)\s+step\s+(.+?)\s+(.+)$")


class ScriptError(ValueError):
    """A ``.test`` script that does not follow the language (names file and line)."""


@dataclass(frozen=True, slots=True)
class LoadCmd:
    """Samples to append: series -> values (``None`` = missing), k-th value at k*step ms."""

    line: int
    step_ms: int
    series: dict[Labels, list[float | None]]


@dataclass(frozen=True, slots=True)
class ClearCmd:
    line: int


@dataclass(frozen=True, slots=True)
class Expected:
    labels: Labels
    value: float
    pos: int  #: 1-based position in the listing (for ``eval_ordered``)


@dataclass(frozen=True, slots=True)
class EvalCmd:
    """An instant evaluation and what it must return. ``scalar`` is set for a bare-number
    expectation; ``expected`` maps each result series to its value."""

    line: int
    expr: str
    t_ms: int
    fail: bool = False
    ordered: bool = False
    expected: dict[Labels, Expected] = field(default_factory=dict)
    scalar: float | None = None


@dataclass(frozen=True, slots=True)
class RangeEvalCmd:
    """A range evaluation (the newer ``eval range from .. to .. step ..`` form): each
    expected series lists one value per step, ``None`` where it has no point."""

    line: int
    expr: str
    start_ms: int
    end_ms: int
    step_ms: int
    fail: bool = False
    expected: dict[Labels, list[float | None]] = field(default_factory=dict)


Command = LoadCmd | ClearCmd | EvalCmd | RangeEvalCmd


@dataclass(frozen=True, slots=True)
class Script:
    source: str
    commands: list[Command]

    @property
    def evals(self) -> list[EvalCmd | RangeEvalCmd]:
        return [c for c in self.commands if isinstance(c, EvalCmd | RangeEvalCmd)]


def _lines(text: str) -> list[str]:
    """Stripped lines, comments blanked (Prometheus' ``getLines``)."""
    out = []
    for raw in text.split("\n"):
        line = raw.strip()
        out.append("" if line.startswith("#") else line)
    return out


def parse_script(text: str, source: str = "<script>") -> Script:
    lines = _lines(text)
    cmds: list[Command] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line:
            i += 1
            continue
        word = re.split(r"[\t ]+", line, maxsplit=1)[0].lower()
        try:
            if word == "clear":
                cmds.append(ClearCmd(i + 1))
                i += 1
            elif word == "load":
                i, cmd = _parse_load(lines, i)
                cmds.append(cmd)
            elif word.startswith("eval") and _EVAL_RANGE.match(line):
                i, rcmd = _parse_range_eval(lines, i)
                cmds.append(rcmd)
            elif word.startswith("eval"):
                i, ecmd = _parse_eval(lines, i)
                cmds.append(ecmd)
            else:
                raise ScriptError(f"invalid command {line!r}")
        except (NotationError, ScriptError) as e:
            raise ScriptError(f"{source}:{i + 1}: {e}") from None
    return Script(source, cmds)


def _block(lines: list[str], i: int) -> tuple[int, list[tuple[int, str]]]:
    """The non-blank lines after line ``i`` up to the next blank line."""
    body = []
    j = i + 1
    while j < len(lines) and lines[j]:
        body.append((j, lines[j]))
        j += 1
    return j, body


def _parse_load(lines: list[str], i: int) -> tuple[int, LoadCmd]:
    m = _LOAD.match(lines[i])
    if m is None:
        raise ScriptError("invalid load command. (load <step:duration>)")
    step = parse_duration_ms(m[1])
    end, body = _block(lines, i)
    series = dict(_series_line(j, text) for j, text in body)
    return end, LoadCmd(i + 1, step, series)


def _series_line(j: int, text: str) -> tuple[Labels, list[float | None]]:
    """``metric{labels} values`` on script line ``j`` (0-based), errors naming the line."""
    try:
        return parse_series_desc(text)
    except NotationError as e:
        raise ScriptError(f"line {j + 1}: {e}") from None


def _parse_eval(lines: list[str], i: int) -> tuple[int, EvalCmd]:
    m = _EVAL.match(lines[i])
    if m is None:
        raise ScriptError(
            "invalid evaluation command. (eval[_fail|_ordered] instant [at <offset:duration>] <query>"
        )
    mod, at, expr = m[1], m[2], m[3]
    t_ms = parse_duration_ms(at or "")
    end, body = _block(lines, i)
    expected: dict[Labels, Expected] = {}
    scalar: float | None = None
    for pos, (j, text) in enumerate(body, start=1):
        try:
            scalar = parse_number(text)
            end = j + 1  # Prometheus stops reading at a scalar expectation
            break
        except NotationError:
            pass
        labels, values = _series_line(j, text)
        if len(values) != 1:
            raise ScriptError(f"line {j + 1}: expecting exactly one value in instant evaluation")
        value = values[0]
        expected[labels] = Expected(labels, 0.0 if value is None else value, pos)
    return end, EvalCmd(i + 1, expr, t_ms, mod == "fail", mod == "ordered", expected, scalar)


def _parse_range_eval(lines: list[str], i: int) -> tuple[int, RangeEvalCmd]:
    m = _EVAL_RANGE.match(lines[i])
    assert m is not None  # checked by the caller
    start, end, step = (parse_duration_ms(g) for g in (m[2], m[3], m[4]))
    if step <= 0 or end < start:
        raise ScriptError("a range eval needs from <= to and a positive step")
    stop, body = _block(lines, i)
    expected = dict(_series_line(j, text) for j, text in body)
    return stop, RangeEvalCmd(i + 1, m[5], start, end, step, m[1] == "fail", expected)
