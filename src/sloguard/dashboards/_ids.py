"""Dashboard uids and file names: stable across exports, so Grafana's file provisioning
updates a dashboard in place instead of adding a copy. Grafana allows 40 characters in a
uid (letters, digits, ``-`` and ``_``); a longer name keeps its start and a hash."""

from __future__ import annotations

import hashlib
import re

from sloguard.slo.model import SLO

OVERVIEW_UID = "sloguard-overview"
MAX_UID = 40


def _uid(prefix: str, name: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "x"
    uid = f"{prefix}-{slug}"
    if len(uid) <= MAX_UID and slug == name:
        return uid
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{prefix}-{slug[: MAX_UID - len(prefix) - 10]}-{digest}"


def slo_uid(slo: SLO) -> str:
    """``sloguard-slo-<name>`` (names are unique in a server: it drops a second SLO of a name)."""
    return _uid("sloguard-slo", slo.name)


def service_uid(service: str) -> str:
    return _uid("sloguard-svc", service)
