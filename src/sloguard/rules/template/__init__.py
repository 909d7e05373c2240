"""A Go ``text/template`` subset for rule labels and annotations, as Prometheus expands them.

``expand_alert_text`` prepends Prometheus' variable definitions (``$labels``,
``$externalLabels``, ``$externalURL``, ``$value``) and returns the expansion or, on any
error, ``<error expanding template: ...>`` with Go's wording; it never raises.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sloguard.gofmt import go_float
from sloguard.rules.template._ast import ListNode
from sloguard.rules.template._exec import Executor, TemplateExecError
from sloguard.rules.template._funcs import BASE_FUNCS, QuerySample
from sloguard.rules.template._gofmt import GoTime, go_sprint, go_sprintf
from sloguard.rules.template._humanize import FuncError
from sloguard.rules.template._lex import TemplateSyntaxError
from sloguard.rules.template._parse import parse

__all__ = [
    "ALERT_DEFS",
    "AlertTemplateData",
    "GoTime",
    "QuerySample",
    "TemplateExecError",
    "TemplateSyntaxError",
    "expand",
    "expand_alert_text",
    "go_float",
    "go_sprint",
    "go_sprintf",
    "template_parse_error",
]

#: What Prometheus prepends to every alert label/annotation template.
ALERT_DEFS = (
    "{{$labels := .Labels}}{{$externalLabels := .ExternalLabels}}"
    "{{$externalURL := .ExternalURL}}{{$value := .Value}}"
)

#: ``query(expr) -> [(labels, value), ...]`` evaluated at the alert's evaluation time.
TemplateQuery = Callable[[str], list[tuple[dict[str, str], float]]]

_NAMES = frozenset(BASE_FUNCS) | {"and", "or", "query", "externalURL", "pathPrefix"}


@dataclass(frozen=True, slots=True)
class AlertTemplateData:
    """The template's dot (Go field names are kept so ``.Labels`` etc. work)."""

    Labels: dict[str, str] = field(default_factory=dict)
    ExternalLabels: dict[str, str] = field(default_factory=dict)
    ExternalURL: str = ""
    Value: Any = 0.0

    GO_TYPE: ClassVar[str] = (
        "struct { Labels map[string]string; ExternalLabels map[string]string; "
        "ExternalURL string; Value float64 }"
    )


@functools.lru_cache(maxsize=4096)
def _parsed(text: str, name: str) -> ListNode:
    """Parse once per (text, name): rules expand the same templates every evaluation."""
    return parse(text, name, _NAMES)


def template_parse_error(text: str, name: str) -> str | None:
    """Go's parse error for ``text`` with the alert definitions prepended, or ``None``.

    Text without an action (``{{``) is one text node, and whether a text parses does not
    depend on the template's name (only an error's wording does): a rule file of
    thousands of alerts repeats its annotations' texts, so those are checked once."""
    if "{{" not in text or text in _PARSES:
        return None
    err = _parse_error(text, name)
    if err is None:
        if len(_PARSES) >= _PARSES_MAX:
            _PARSES.clear()
        _PARSES.add(text)
    return err


_PARSES: set[str] = set()  # texts known to parse
_PARSES_MAX = 1 << 16


def _parse_error(text: str, name: str) -> str | None:
    try:
        parse(ALERT_DEFS + text, name, _NAMES)
    except TemplateSyntaxError as e:
        return str(e)
    except Exception as e:  # noqa: BLE001 - a checker must report, never crash
        return f"template: {name}: {e}"
    return None


def _funcs(query: TemplateQuery | None, external_url: str) -> dict[str, tuple[Callable[..., Any], int | None]]:
    funcs = dict(BASE_FUNCS)

    def run_query(q: Any) -> list[QuerySample]:
        if query is None:
            raise FuncError("query is not available in this context")
        try:
            return [QuerySample(dict(ls), v) for ls, v in query(str(q))]
        except FuncError:
            raise
        except Exception as e:  # noqa: BLE001 - a failed query becomes the template error
            raise FuncError(str(e)) from None

    funcs["query"] = (run_query, 1)
    funcs["externalURL"] = (lambda: external_url, 0)
    funcs["pathPrefix"] = (lambda: _path_of(external_url), 0)
    return funcs


def _path_of(url: str) -> str:
    from urllib.parse import urlparse

    return urlparse(url).path


def expand(text: str, name: str, data: Any, query: TemplateQuery | None = None, external_url: str = "") -> str:
    """Expand ``text``; raises ``TemplateSyntaxError``/``TemplateExecError`` (Go's texts)."""
    root = _parsed(text, name)
    return Executor(name, text, _funcs(query, external_url)).run(root, data)


def expand_alert_text(
    text: str,
    name: str,
    data: AlertTemplateData,
    query: TemplateQuery | None = None,
) -> str:
    """Prometheus' ``Expander.Expand`` for a rule template; errors become the result text."""
    try:
        return expand(ALERT_DEFS + text, name, data, query, data.ExternalURL)
    except TemplateSyntaxError as e:
        return f"<error expanding template: error parsing template {name}: {e}>"
    except TemplateExecError as e:
        return f"<error expanding template: error executing template {name}: {e}>"
    except Exception as e:  # noqa: BLE001 - a template must never break an evaluation
        return f"<error expanding template: panic expanding template {name}: {e}>"
