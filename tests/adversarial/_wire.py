"""Plain helpers of the attacker suite: /proc readings, raw HTTP over a socket, and
searches in /metrics text and JSON documents."""

from __future__ import annotations

import contextlib
import os
import re
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def proc_status_kb(pid: int, field_name: str) -> int:
    """``VmRSS``/``VmHWM`` of ``pid`` in kB, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1])
    raise AssertionError(f"/proc/{pid}/status has no {field_name} line")


def cpu_seconds(pid: int) -> float:
    """utime+stime of ``pid`` in seconds (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def reset_peak_rss(pid: int) -> None:
    """Reset VmHWM to the current RSS (``echo 5 > /proc/<pid>/clear_refs``), so the next
    VmHWM reading is the peak of what follows; without permission, VmHWM keeps the older peak."""
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")


def raw_post(port: int, path: str, headers: Mapping[str, str], body: bytes,
             timeout_s: float = 10.0, chunk: int = 1 << 20) -> tuple[int, bytes]:
    """POST over a plain socket, tolerating the server answering and closing early."""
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + f"Content-Length: {len(body)}\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as s:
        s.sendall(head.encode())
        with contextlib.suppress(OSError):
            for o in range(0, len(body), chunk):
                s.sendall(body[o:o + chunk])
        data = b""
        with contextlib.suppress(OSError):
            while len(data) < 1 << 16:
                part = s.recv(65536)
                if not part:
                    break
                data += part
    m = re.match(rb"HTTP/1\.[01] (\d{3})", data)
    assert m, f"no HTTP response to POST {path} ({len(body)} bytes): {data[:200]!r}"
    return int(m.group(1)), data.split(b"\r\n\r\n", 1)[-1]


def metric_values(text: str, name_re: str) -> dict[str, float]:
    """Samples of /metrics text whose series name matches ``name_re`` (full line key -> value)."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        key, _, value = line.rpartition(" ")
        if re.match(name_re, key):
            with contextlib.suppress(ValueError):
                out[key] = float(value)
    return out


def numbers_under(obj: Any, key_re: str) -> dict[str, float]:
    """Numeric values anywhere in a JSON document whose key matches ``key_re`` (case-insensitive)."""
    out: dict[str, float] = {}

    def walk(o: Any, path: str) -> None:
        if isinstance(o, dict):
            for k, v in o.items():
                p = f"{path}.{k}"
                if isinstance(v, int | float) and not isinstance(v, bool) and re.search(key_re, k, re.I):
                    out[p] = float(v)
                walk(v, p)
        elif isinstance(o, list):
            for i, v in enumerate(o):
                walk(v, f"{path}[{i}]")

    walk(obj, "")
    return out
