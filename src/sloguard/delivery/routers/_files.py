"""Atomic file writes for routers that render files (nginx config, Kubernetes manifests)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from sloguard.delivery.routers._types import RouterError


def write_atomic(path: Path, text: str, what: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory, fsynced,
    then renamed over it: a reader sees the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        raise RouterError(f"{what}: cannot write {path}: {e}", retryable=True) from e


def read_text(path: Path, what: str) -> str | None:
    """The file's text, or None if it does not exist."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as e:
        raise RouterError(f"{what}: cannot read {path}: {e}", retryable=True) from e
