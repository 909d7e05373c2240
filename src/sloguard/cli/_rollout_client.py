"""The ``sloguard rollout`` commands' HTTP client for a server's ``/api/v1/rollouts``.

Every failure becomes :class:`RolloutCommandError` with a sentence to print: the server
cannot be reached (naming the URL), it answered without JSON, or it refused the request
(its own sentence, and the spec problems it listed)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # httpx loads when a command talks to a server, not for `--help`
    import httpx

DEFAULT_URL = "http://127.0.0.1:9090"
URL_ENV = "SLOGUARD_URL"


class RolloutCommandError(Exception):
    """A rollout command that failed; ``problems`` are printed one per line below it."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)


@dataclass(frozen=True, slots=True)
class SpecFile:
    """One file in the stream: its first line (0-based) and, when its YAML reads, its first
    document's index in the stream and how many documents it holds (empty ones not counted,
    as the spec reader counts them)."""

    name: str
    start: int
    first_doc: int | None
    docs: int | None


@dataclass(frozen=True, slots=True)
class SpecText:
    """Several spec files as one YAML stream, and where each file is in it."""

    text: str
    files: tuple[SpecFile, ...]

    def file_at(self, line: int) -> SpecFile:
        """The file holding the 1-based ``line`` of the stream."""
        found = self.files[0]
        for f in self.files:
            if f.start < line:
                found = f
        return found

    def local_path(self, path: str, f: SpecFile) -> str:
        """A key path of the stream (``documents[3].spec...``) as the file's own."""
        m = _DOC_PATH.match(path)
        if m is None or f.first_doc is None or f.docs is None:
            return path
        local = int(m.group(1)) - f.first_doc
        return m.group(2) if f.docs == 1 else f"documents[{local}].{m.group(2)}"


_DOC_PATH = re.compile(r"^documents\[(\d+)\]\.(.*)$")


def _count_docs(text: str) -> int | None:
    try:
        import yaml

        from sloguard.nesting import yaml_load_all

        return sum(1 for d in yaml_load_all(text) if d is not None)
    except yaml.YAMLError:  # the server names the problem; paths stay the stream's
        return None


def read_specs(paths: Sequence[Path]) -> SpecText:
    """The files joined as YAML documents (``---`` between them); an unreadable file is an error."""
    parts: list[str] = []
    files: list[SpecFile] = []
    line, doc, counted = 0, 0, True
    for p in paths:
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise RolloutCommandError(f"Cannot read the spec file {str(p)!r}: {e}.") from None
        if parts:
            parts.append("---\n")
            line += 1
        text = text if text.endswith("\n") else text + "\n"
        docs = _count_docs(text)
        counted = counted and docs is not None  # after a file that does not read, indices are unknown
        files.append(SpecFile(str(p), line, doc if counted else None, docs))
        doc += docs or 0
        parts.append(text)
        line += text.count("\n")
    return SpecText("".join(parts), tuple(files))


def problem_line(p: Any, spec: SpecText | None = None) -> str:
    """One problem the server listed, as ``file:line:column: key.path: message``, with the
    file, line and key path of the file it is in when the stream was several files."""
    if not isinstance(p, dict):
        return str(p)
    where, path = str(p.get("file") or ""), str(p.get("path") or "")
    line = p.get("file_line")
    if isinstance(line, int) and spec is not None and spec.files:
        f = spec.file_at(line)
        where, path = f"{f.name}:{line - f.start}:{p.get('file_column', 1)}", spec.local_path(path, f)
    elif isinstance(line, int):
        where = f"{where}:{line}:{p.get('file_column', 1)}"
    prefix = "warning: " if p.get("severity") == "warning" else ""
    return f"{prefix}{where + ': ' if where else ''}{path + ': ' if path else ''}{p.get('message', '')}"


class RolloutClient:
    """``/api/v1/rollouts`` of the server at ``url``."""

    def __init__(self, url: str, timeout_s: float = 30.0, transport: httpx.BaseTransport | None = None) -> None:
        #: Credentials go in the URL (``http://USER:PASSWORD@host:port``, basic auth); messages show it without them.
        import httpx

        self.url = shown_url(url)
        self._http = httpx.Client(base_url=url.rstrip("/"), timeout=timeout_s, transport=transport)
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
        import httpx

        try:
            r = self._http.request(method, path, **kw)
        except httpx.HTTPError as e:
            raise RolloutCommandError(f"Cannot reach the sloguard server at {self.url}: {e or type(e).__name__} "
                                      f"(is `sloguard serve` running there? Set --url or {URL_ENV}).") from None
        if r.status_code == 401:
            raise RolloutCommandError(f"The sloguard server at {self.url} wants credentials (HTTP 401): give them in "
                                      "the URL, http://USER:PASSWORD@HOST:PORT.")
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


def shown_url(url: str) -> str:
    """``url`` without its password (and without a trailing ``/``), for messages."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url.rstrip("/"))
    if parts.password is None:
        return urlunsplit(parts)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")
