"""Logs are logfmt or JSON lines, carry extra fields, and never print secrets."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from sloguard.log import LogFormat, configure, parse_level, redact


@pytest.fixture()
def restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _emit(fmt: LogFormat, *args: object, **extra: object) -> str:
    buf = io.StringIO()
    configure(fmt, "debug", stream=buf)
    logging.getLogger("sloguard.test").warning(*args, extra=extra)  # type: ignore[arg-type]
    return buf.getvalue().strip()


def test_logfmt_line_has_level_logger_msg_and_fields(restore_root: None) -> None:
    line = _emit(LogFormat.LOGFMT, "WAL tail truncated", segment=3, dropped_records=2)
    assert line.startswith("ts=")
    assert ' level=warn logger=sloguard.test msg="WAL tail truncated" segment=3 dropped_records=2' in line


def test_json_line_is_one_object(restore_root: None) -> None:
    obj = json.loads(_emit(LogFormat.JSON, "hello %s", "world", n=1))
    assert obj["msg"] == "hello world" and obj["level"] == "warn" and obj["n"] == 1


def test_secret_fields_and_spans_are_redacted(restore_root: None) -> None:
    line = _emit(
        LogFormat.LOGFMT,
        "scrape with password=hunter2 and Authorization: Bearer abc.def",
        bearer_token="tok123",
        url="http://x?credentials=zzz",
    )
    for secret in ("hunter2", "abc.def", "tok123", "zzz"):
        assert secret not in line
    assert "password=<secret>" in line
    assert "bearer_token=<secret>" in line


def test_redact_handles_quoted_and_yaml_values() -> None:
    assert redact('password: "a b c" next') == 'password: <secret> next'
    assert redact("basic_auth: {username: u, password: p}") == "basic_auth: {username: u, password: <secret>}"
    assert redact("nothing secret here") == "nothing secret here"


def test_level_filters_and_unknown_level_is_refused(restore_root: None) -> None:
    buf = io.StringIO()
    configure(LogFormat.LOGFMT, "error", stream=buf)
    logging.getLogger("sloguard.test").warning("quiet")
    assert buf.getvalue() == ""
    with pytest.raises(ValueError, match="expected one of debug, info, warn, error"):
        parse_level("verbose")


def test_exception_is_logged_as_err_field(restore_root: None) -> None:
    buf = io.StringIO()
    configure(LogFormat.JSON, "info", stream=buf)
    try:
        raise RuntimeError("boom token=secretvalue")
    except RuntimeError:
        logging.getLogger("x").exception("failed")
    obj = json.loads(buf.getvalue())
    assert "RuntimeError" in obj["err"] and "secretvalue" not in obj["err"]
