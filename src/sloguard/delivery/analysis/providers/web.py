"""The ``web`` provider: Argo's ``webmetric``. An HTTP request (``url``, ``method`` GET, POST
or PUT, ``headers``, ``body`` or ``jsonBody``, ``timeoutSeconds`` default 10); a non-2xx
answer is an error; a JSON body is narrowed by ``jsonPath`` (Kubernetes' braces form,
``{$.data.ok}``, default ``{$}``; the first match is the result), a body that is not JSON
is the result as a string.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import httpx
from jsonpath_ng.exceptions import JsonPathLexerError, JsonPathParserError
from jsonpath_ng.ext.parser import parse as parse_jsonpath

from sloguard.delivery.analysis._metric import ProviderConfig
from sloguard.delivery.analysis.providers._base import ProviderEnv, ProviderError
from sloguard.delivery.analysis.providers._http import send
from sloguard.nesting import NestingError, json_loads

METHODS = ("GET", "POST", "PUT")


@dataclass(frozen=True, slots=True)
class WebConfig:
    """A web metric; ``json_body`` is JSON text (sent with ``Content-Type: application/json``)."""

    TYPE: ClassVar[str] = "web"
    url: str
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    body: str = ""
    json_body: str | None = None
    timeout_s: float = 10.0
    json_path: str = "{$}"
    insecure: bool = False


def compile_json_path(text: str) -> object:
    """jsonpath-ng's expression for Kubernetes' ``{...}`` form (``{.a.b}`` reads ``$.a.b``);
    ``ProviderError`` (not retryable) for one that does not parse."""
    inner = text.strip()
    if inner.startswith("{") and inner.endswith("}"):
        inner = inner[1:-1].strip()
    if inner.startswith("."):
        inner = "$" + inner
    try:
        return parse_jsonpath(inner or "$")
    except (JsonPathLexerError, JsonPathParserError, Exception) as e:  # jsonpath-ng raises plain Exceptions too
        raise ProviderError(f"The jsonPath {text!r} does not parse: {e}", False) from None


class WebProvider:
    TYPE: ClassVar[str] = "web"

    def __init__(self, config: WebConfig, client: httpx.AsyncClient | None = None) -> None:
        if config.method.upper() not in METHODS:
            raise ProviderError(f"The web metric method {config.method!r} is not one of {', '.join(METHODS)}.", False)
        if config.body and config.json_body is not None:
            raise ProviderError("A web metric has either body or jsonBody, not both.", False)
        if (config.body or config.json_body is not None) and config.method.upper() == "GET":
            raise ProviderError("A web metric sends body or jsonBody only with POST or PUT.", False)
        self.config = config
        self._path = compile_json_path(config.json_path)
        self._client = client

    @classmethod
    def from_env(cls, config: ProviderConfig, env: ProviderEnv) -> WebProvider:
        if not isinstance(config, WebConfig):
            raise ProviderError(f"The web provider was given a {type(config).__name__}.", False)
        return cls(config, env.http)

    async def query(self, now_ms: int) -> object:
        c = self.config
        headers = dict(c.headers)
        content = c.body.encode() if c.body else None
        if c.json_body is not None:
            headers["Content-Type"] = "application/json"
            content = c.json_body.encode()
        request = httpx.Request(c.method.upper(), c.url, headers=headers, content=content)
        response = await send(self._client, request, timeout_s=c.timeout_s, verify=not c.insecure)
        if not 200 <= response.status_code < 300:
            raise ProviderError(f"{c.method.upper()} {c.url} answered HTTP {response.status_code}, not 2xx.")
        return self._value(response.content)

    def _value(self, body: bytes) -> object:
        try:
            data = json_loads(body)
        except NestingError as e:
            raise ProviderError(f"The answer of {self.config.url} is nested too deeply to judge: it {e}.") from None
        except ValueError:
            return body.decode("utf-8", "replace")
        matches = self._path.find(data)  # type: ignore[attr-defined]  # a jsonpath-ng expression
        if not matches:
            raise ProviderError(f"The jsonPath {self.config.json_path!r} found nothing in the answer of {self.config.url}.")
        return matches[0].value
