"""The ``sloguard rollout`` commands' HTTP client for a server's ``/api/v1/rollouts``.

Every failure becomes :class:`RolloutCommandError` with a sentence to print: the server
cannot be reached (naming the URL), it answered without JSON, or it refused the request
(its own sentence, and the spec problems it listed)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

DEFAULT_URL = "http://127.0.0.1:9090"
URL_ENV = "SLOGUARD_URL"


class RolloutCommandError(Exception):
    """A rollout command that failed; ``problems`` are printed one per line below it."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)


@dataclass(frozen=True, slots=True)
class SpecText:
    """Several spec files as one YAML stream, and where each file starts in it (0-based lines)."""

    text: str
    starts: tuple[tuple[int, str], ...]

    def where(self, line: int) -> tuple[str, int]:
        """The file and 1-based line of the 1-based ``line`` of the stream."""
        found = self.starts[0]
        for start, name in self.starts:
            if start < line:
                found = (start, name)
        return found[1], line - found[0]


def read_specs(paths: Sequence[Path]) -> SpecText:
    """The files joined as YAML documents (``---`` between them); an unreadable file is an error."""
    parts: list[str] = []
    starts: list[tuple[int, str]] = []
    line = 0
    for p in paths:
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise RolloutCommandError(f"Cannot read the spec file {str(p)!r}: {e}.") from None
        if parts:
            parts.append("---\n")
            line += 1
        starts.append((line, str(p)))
        text = text if text.endswith("\n") else text + "\n"
        parts.append(text)
        line += text.count("\n")
    return SpecText("".join(parts), tuple(starts))


def problem_line(p: Any, spec: SpecText | None = None) -> str:
    """One problem the server listed, as ``file:line:column: key.path: message``."""
    if not isinstance(p, dict):
        return str(p)
    where = str(p.get("file") or "")
    line = p.get("file_line")
    if isinstance(line, int) and spec is not None and spec.starts:
        name, line = spec.where(line)
        where = f"{name}:{line}:{p.get('file_column', 1)}"
    elif isinstance(line, int):
        where = f"{where}:{line}:{p.get('file_column', 1)}"
    prefix = "warning: " if p.get("severity") == "warning" else ""
    path = f"{p['path']}: " if p.get("path") else ""
    return f"{prefix}{where + ': ' if where else ''}{path}{p.get('message', '')}"


class RolloutClient:
    """``/api/v1/rollouts`` of the server at ``url``."""

    def __init__(self, url: str, timeout_s: float = 30.0, transport: httpx.BaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        self._http = httpx.Client(base_url=self.url, timeout=timeout_s, transport=transport)
        self.spec: SpecText | None = None

    def close(self) -> None:
        self._http.close()

    def list(self) -> list[dict[str, Any]]:
        return self._call("GET", "/api/v1/rollouts")  # type: ignore[no-any-return]

    def get(self, name: str) -> dict[str, Any]:
        return self._call("GET", f"/api/v1/rollouts/{_quote(name)}")  # type: ignore[no-any-return]

    def explain(self, name: str) -> str:
        return str(self._call("GET", f"/api/v1/rollouts/{_quote(name)}/explain")["text"])

    def start(self, spec: SpecText, name: str | None, force: bool, actor: str, reason: str) -> dict[str, Any]:
        params = {k: v for k, v in (("name", name), ("actor", actor), ("reason", reason)) if v}
        if force:
            params["force"] = "true"
        self.spec = spec
        return self._call("POST", "/api/v1/rollouts", content=spec.text.encode(), params=params,  # type: ignore[no-any-return]
                          headers={"content-type": "application/yaml"})

    def act(self, name: str, action: str, actor: str = "", reason: str = "", full: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {k: v for k, v in (("actor", actor), ("reason", reason)) if v}
        if full:
            body["full"] = True
        return self._call("POST", f"/api/v1/rollouts/{_quote(name)}/{action}", json=body)  # type: ignore[no-any-return]

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        try:
            r = self._http.request(method, path, **kw)
        except httpx.HTTPError as e:
            raise RolloutCommandError(f"Cannot reach the sloguard server at {self.url}: {e or type(e).__name__} "
                                      f"(is `sloguard serve` running there? Set --url or {URL_ENV}).") from None
        try:
            body = r.json()
        except ValueError:
            raise RolloutCommandError(f"{self.url}{path} answered HTTP {r.status_code} without JSON "
                                      "(is this a sloguard server?).") from None
        if r.status_code >= 400 or not isinstance(body, dict) or body.get("status") != "success":
            error = body.get("error", body) if isinstance(body, dict) else body
            problems = body.get("problems") or [] if isinstance(body, dict) else []
            raise RolloutCommandError(f"The server refused it (HTTP {r.status_code}): {error}",
                                      [problem_line(p, self.spec) for p in problems])
        return body["data"]


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")
