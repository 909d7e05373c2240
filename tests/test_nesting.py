"""sloguard.nesting: the depth scan agrees with a plain reading of JSON, deep documents get a
NestingError naming line and column (never RecursionError), and every file reader built on
it (alerting config, server config, rule files, rule unit tests, SLO specs) reports a deep
file as a clear error."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import yaml

import sloguard.nesting as nesting
from sloguard.nesting import (
    NestingError,
    YamlNestingError,
    check_yaml,
    json_loads,
    json_too_deep,
    yaml_load,
)


def _reference(raw: bytes, limit: int) -> int | None | tuple[str, int]:
    """Byte by byte: the offset of the first bracket past ``limit`` outside strings; a
    backslash outside a string is a syntax error, after which nothing is compared."""
    depth, i, inside = 0, 0, False
    while i < len(raw):
        c = raw[i]
        if inside:
            if c == ord("\\"):
                i += 2
                continue
            inside = c != ord('"')
        elif c == ord('"'):
            inside = True
        elif c == ord("\\"):
            return ("syntax error", i)
        elif c in b"[{":
            depth += 1
            if depth > limit:
                return i
        elif c in b"]}":
            depth -= 1
        i += 1
    return None


@pytest.mark.parametrize("chunk", [1, 2, 7, 1 << 20])
def test_the_scan_agrees_with_a_byte_by_byte_reading(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    monkeypatch.setattr(nesting, "_CHUNK", chunk)  # small chunks: quotes, escapes and depth carried across
    rng = random.Random(chunk)
    compared = 0
    for _ in range(3000):
        raw = bytes(rng.choice(b'[]{}"\\\\a') for _ in range(rng.randint(1, 40)))
        limit = rng.randint(0, 4)
        got = nesting._bytes_too_deep(np.frombuffer(raw, dtype=np.uint8), limit)
        want = _reference(raw, limit)
        if isinstance(want, tuple):
            assert got is None or got >= want[1], raw
            continue
        compared += 1
        assert got == want, (raw, limit)
    assert compared > 500


def test_brackets_in_strings_and_escaped_quotes_do_not_count() -> None:
    assert json_too_deep('["' + "[" * 50 + '"]', 2) is None
    assert json_too_deep('["\\"' + "[" * 50 + '"]', 2) is None  # \" does not end the string
    assert json_too_deep('["\\\\"' + "[" * 50, 2) == 6  # \\ does: the brackets after it count
    assert json_too_deep('"é"[[[', 2) == 5 and json_too_deep('"é"[[['.encode(), 2) == 6  # characters, bytes


def test_json_loads_names_the_place_and_decodes_up_to_the_limit() -> None:
    with pytest.raises(NestingError) as e:
        json_loads('{\n "a": ' + '{"a":' * 1000 + "1" + "}" * 1001)
    # line 1 opens level 1; line 2 is ' "a": ' and then level 2 at column 7, level 1001 five columns * 999 on
    assert str(e.value) == f"nests deeper than 1000 levels (at line 2, column {7 + 5 * 999})"
    assert e.value.line == 2 and isinstance(e.value, ValueError)
    assert json_loads("[" * 1000 + "]" * 1000) is not None  # at the limit: decoded, whatever the recursion limit
    assert json_loads(b"[" * 9000 + b"]" * 9000, limit=nesting.GO_MAX_DEPTH) is not None
    with pytest.raises(NestingError):
        json_loads("[" * 200_000)
    with pytest.raises(ValueError, match="Expecting"):
        json_loads("[" * 10)  # within the limit: the decoder's own error


def test_yaml_nesting_is_counted_from_the_parser_events(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "a:\n  b: [1, [2, {c: [3]}]]\n"
    check_yaml(text, limit=6)  # two mappings, two sequences, a mapping, a sequence
    with pytest.raises(YamlNestingError) as e:
        check_yaml(text, limit=5)
    assert (e.value.problem_mark.line, e.value.problem_mark.column) == (1, 17)  # the [ of [3], 0-based
    assert isinstance(e.value, yaml.YAMLError)
    # PyYAML without libyaml: its own (iterative) parser counts, and the recursive composer never runs too deep
    monkeypatch.setattr(nesting, "_EVENT_LOADER", yaml.SafeLoader)
    with pytest.raises(YamlNestingError, match="nests deeper than 1000 levels") as deep:
        yaml_load("x: " + "[" * 5000 + "]" * 5000)
    assert (deep.value.problem_mark.line, deep.value.problem_mark.column) == (0, 3 + 999)  # the mapping is level 1
    assert yaml_load("x: " + "[" * 900 + "]" * 900) == {"x": json.loads("[" * 900 + "]" * 900)}


DEEP_YAML = "groups:\n" + "".join(" " * (i + 1) + "- \n" for i in range(1500))
DEEP_FLOW = "groups: " + "[" * 50_000


@pytest.mark.parametrize("text", [DEEP_YAML, DEEP_FLOW], ids=["block", "flow"])
def test_file_readers_report_a_deep_file_clearly(text: str) -> None:
    from sloguard.alerting import parse_config
    from sloguard.alerting._errors import AlertingConfigError
    from sloguard.config import ConfigError
    from sloguard.config import parse_config as parse_server_config
    from sloguard.rules._rulefmt import parse_rule_text
    from sloguard.rules.unittest._file import UnitTestFileError, parse_unit_test_file
    from sloguard.slo.loader import load_text

    with pytest.raises(AlertingConfigError, match=r"alertmanager\.yml.*nest"):
        parse_config(text, "alertmanager.yml")
    with pytest.raises(ConfigError, match="nest"):
        parse_server_config(text, "sloguard.yml")
    _, problems = parse_rule_text(text, "rules.yml")
    assert problems and all("nest" in p for p in problems)
    with pytest.raises(UnitTestFileError, match="nest"):
        parse_unit_test_file(text)
    _, slo_problems = load_text(text, "slo.yml")
    assert slo_problems and "nest" in slo_problems[0].message and slo_problems[0].file_line is not None
