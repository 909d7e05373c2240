"""Finding sloguard's HTTP sender processes (``sloguard.httpclient._sender``) among a
process' children, through /proc."""

from __future__ import annotations

from pathlib import Path


def sender_children(pid: int) -> list[int]:
    """The process ids of ``pid``'s children that are an HTTP sender worker."""
    kids = [int(k) for task in Path(f"/proc/{pid}/task").iterdir() for k in (task / "children").read_text().split()]
    found = []
    for k in kids:
        try:
            if b"sloguard.httpclient._sender" in Path(f"/proc/{k}/cmdline").read_bytes():
                found.append(k)
        except OSError:  # it ended meanwhile
            continue
    return found
