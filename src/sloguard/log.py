"""Structured logs: logfmt (default) or JSON lines, secrets always redacted.

Any package logs with the standard library (``logging.getLogger(__name__)``) and passes
fields through ``extra``::

    log.warning("WAL tail truncated", extra={"segment": 3, "dropped_records": 2})

which prints (logfmt)::

    ts=2026-01-01T00:00:00.000Z level=warn logger=sloguard.tsdb.wal msg="WAL tail truncated" segment=3 dropped_records=2

:func:`configure` installs the formatter on the root logger. Values of fields whose name
looks secret (``password``, ``token``, ``secret``, ``authorization``, ``credentials``)
and ``password=...``/``Authorization: ...`` spans inside messages are replaced by
``<secret>`` (Prometheus' spelling) before anything is written.
"""

from __future__ import annotations

import enum
import json
import logging
import re
import sys
import time
from typing import Any, TextIO

REDACTED = "<secret>"

_SECRET_KEY = re.compile(r"password|passwd|secret|token|authorization|credentials|api_key", re.I)
# `password=xyz`, `credentials: "a b"`, `Authorization: Bearer xyz`, `bearer_token=...`
_SECRET_SPAN = re.compile(
    r"""(?P<key>\b[\w.-]*(?:password|passwd|secret|token|credentials|api_key)[\w.-]*)"""
    r"""(?P<sep>["']?\s*[=:]\s*)(?P<val>"[^"]*"|'[^']*'|[^\s,;}&]+)"""
    r"""|(?P<akey>\bauthorization)(?P<asep>["']?\s*[=:]\s*)(?P<aval>"[^"]*"|'[^']*'|(?:(?:basic|bearer)\s+)?[^\s,;}&]+)""",
    re.I,
)

# Attributes every LogRecord has; anything else came in through ``extra``.
_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {
    "message", "asctime", "taskName", "color_message",  # uvicorn's ANSI copy of msg
}


# uvicorn logs its ordinary messages under "uvicorn.error"; show them as "uvicorn".
_LOGGER_ALIASES = {"uvicorn.error": "uvicorn"}


class LogFormat(enum.Enum):
    LOGFMT = "logfmt"
    JSON = "json"


_LEVEL_NAMES = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR}


def parse_level(name: str) -> int:
    """``debug|info|warn|error`` (Prometheus' ``--log.level`` values) to a logging level."""
    try:
        return _LEVEL_NAMES[name.lower()]
    except KeyError:
        raise ValueError(
            f"invalid log level {name!r}: expected one of debug, info, warn, error"
        ) from None


def redact(text: str) -> str:
    """Replace secret values inside free text by ``<secret>``."""

    def repl(m: re.Match[str]) -> str:
        if m.group("key") is not None:
            return f"{m.group('key')}{m.group('sep')}{REDACTED}"
        return f"{m.group('akey')}{m.group('asep')}{REDACTED}"

    return _SECRET_SPAN.sub(repl, text)


def _level_name(levelno: int) -> str:
    if levelno >= logging.ERROR:
        return "error"
    if levelno >= logging.WARNING:
        return "warn"
    return "info" if levelno >= logging.INFO else "debug"


def _timestamp(created: float) -> str:
    ms = int(created * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + f".{ms:03d}Z"


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The record as ordered fields: ts, level, logger, msg, extras, err; redacted."""
    fields: dict[str, Any] = {
        "ts": _timestamp(record.created),
        "level": _level_name(record.levelno),
        "logger": _LOGGER_ALIASES.get(record.name, record.name),
        "msg": redact(record.getMessage()),
    }
    for key, value in vars(record).items():
        if key in _STANDARD_ATTRS or key.startswith("_"):
            continue
        fields[key] = REDACTED if _SECRET_KEY.search(key) else _plain(value)
    if record.exc_info:
        fields["err"] = redact(logging.Formatter().formatException(record.exc_info))
    return fields


def _plain(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    return redact(str(value))


def _logfmt_value(value: Any) -> str:
    if value is None:
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    s = str(value)
    if s and not any(c in s for c in ' ="\\\n\t') :
        return s
    escaped = s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


class LogfmtFormatter(logging.Formatter):
    """``key=value`` pairs, values quoted when they contain spaces, quotes or ``=``."""

    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{k}={_logfmt_value(v)}" for k, v in record_fields(record).items())


class JSONFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(record_fields(record), default=str, ensure_ascii=False)


def formatter_for(fmt: LogFormat) -> logging.Formatter:
    return JSONFormatter() if fmt is LogFormat.JSON else LogfmtFormatter()


def configure(fmt: LogFormat = LogFormat.LOGFMT, level: str = "info", stream: TextIO | None = None) -> None:
    """Send every logger's records to ``stream`` (stderr) in ``fmt`` at ``level``."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter_for(fmt))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(parse_level(level))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lg = logging.getLogger(name)
        lg.handlers.clear()
        lg.propagate = True
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
    logging.getLogger("httpcore").setLevel(max(logging.WARNING, root.level))
