"""The repository's Dockerfile and .dockerignore, parsed (``dockerfile-parse``) into stages
and instructions, with the few Docker rules the tests need (exec form, COPY, .dockerignore)."""

from __future__ import annotations

import fnmatch
import io
import json
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

from dockerfile_parse import DockerfileParser

from tests.deploy._manifests import REPO

DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"


@dataclass(frozen=True, slots=True)
class Instruction:
    """One instruction (``COPY``, ``USER``, ...) with its value as written (continuations joined)."""

    name: str
    value: str


def stages(text: str | None = None) -> list[list[Instruction]]:
    """Instructions per build stage (each starts at a ``FROM``), comments left out."""
    text = DOCKERFILE.read_text(encoding="utf-8") if text is None else text
    parser = DockerfileParser(fileobj=io.BytesIO(text.encode()))
    out: list[list[Instruction]] = []
    for item in parser.structure:
        if item["instruction"] == "FROM":
            out.append([])
        if item["instruction"] != "COMMENT" and out:
            out[-1].append(Instruction(item["instruction"], item["value"]))
    return out


def last(stage: list[Instruction], name: str) -> str | None:
    """The value of the stage's last ``name`` instruction (the one in force), or None."""
    values = [i.value for i in stage if i.name == name]
    return values[-1] if values else None


def exec_form(value: str, where: str) -> list[str]:
    """A JSON-array (exec form) value; the shell form would run under ``/bin/sh -c``, which
    does not pass SIGTERM on to the server."""
    try:
        argv = json.loads(value)
    except json.JSONDecodeError:
        argv = None
    if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
        raise ValueError(f"{where} {value!r} is not in exec form (a JSON array of strings)")
    return argv


def healthcheck(value: str) -> tuple[dict[str, str], list[str]]:
    """``HEALTHCHECK --interval=30s ... CMD [...]`` -> ({'interval': '30s', ...}, argv)."""
    options_text, sep, command = value.partition("CMD ")
    if not sep:
        raise ValueError(f"HEALTHCHECK {value!r} has no CMD")
    options = dict(opt.removeprefix("--").split("=", 1) for opt in options_text.split())
    return options, exec_form(command.strip(), "HEALTHCHECK CMD")


@dataclass(frozen=True, slots=True)
class Copy:
    """One ``COPY``: sources relative to the build context (or another stage), destination."""

    sources: list[str]
    dest: str
    from_stage: str | None


def copies(stage: list[Instruction]) -> list[Copy]:
    out = []
    for i in stage:
        if i.name != "COPY":
            continue
        words = shlex.split(i.value)
        flags = dict(w.removeprefix("--").split("=", 1) for w in words if w.startswith("--"))
        paths = [w for w in words if not w.startswith("--")]
        out.append(Copy(paths[:-1], paths[-1], flags.get("from")))
    return out


def image_uid(text: str | None = None) -> int:
    """The final stage's numeric, non-root ``USER`` (``ValueError`` otherwise)."""
    user = last(stages(text)[-1], "USER")
    uid = (user or "").split(":")[0]
    if not uid.isdigit():
        raise ValueError(f"USER {user!r} is not numeric: Kubernetes' runAsNonRoot cannot verify a user name")
    if int(uid) == 0:
        raise ValueError(f"USER {user!r} is root")
    return int(uid)


def ignore_patterns() -> list[str]:
    lines = DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
    return [ln.strip().rstrip("/") for ln in lines if ln.strip() and not ln.lstrip().startswith("#")]


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore ``patterns`` leave ``path`` (relative to the context) out: a
    pattern matches the path or one of its parent directories; ``**/`` matches any depth."""
    parts = Path(path).parts
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    for pattern in patterns:
        if pattern.startswith("**/"):
            rest = pattern[3:]
            if any(fnmatch.fnmatchcase(part, rest) for part in parts):
                return True
        elif any(fnmatch.fnmatchcase(p, pattern) for p in prefixes):
            return True
    return False


def materialize_copies(stage: list[Instruction], root: Path) -> None:
    """Do the stage's ``COPY`` from the build context (not ``--from``) under ``root``."""
    for c in copies(stage):
        if c.from_stage is not None:
            continue
        for source in c.sources:
            src, dest = REPO / source, root / c.dest.lstrip("/")
            if src.is_dir():
                shutil.copytree(src, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(src, dest / src.name if c.dest.endswith("/") else dest)
