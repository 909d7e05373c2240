"""Rendezvous (highest random weight) hashing: which live replica owns a key.

Every replica computes the same owner from the same member names, with no coordination:
the owner of a key is the member with the highest ``score(member, key)``. When a member
joins it takes over only the keys it now scores highest on (about 1/N of them); when one
leaves only its own keys move, each to the member that scored second on it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

__all__ = ["assign", "owner", "score"]


def score(member: str, key: str) -> int:
    """The member's weight for ``key``: 64 bits of BLAKE2b over both (stable across
    processes and versions, unlike Python's ``hash``)."""
    digest = hashlib.blake2b(f"{member}\x00{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def owner(key: str, members: Sequence[str]) -> str | None:
    """The member that owns ``key`` (None when there are no members); ties go to the
    greater name, so every replica agrees."""
    if not members:
        return None
    return max(members, key=lambda m: (score(m, key), m))


def assign(keys: Iterable[str], members: Sequence[str]) -> dict[str, str]:
    """Every key's owner among ``members`` (empty when there are none)."""
    if not members:
        return {}
    return {k: owner(k, members) or "" for k in keys}
