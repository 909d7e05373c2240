"""xxHash64 and Prometheus' ``labels.Hash`` (rule group offsets; Alertmanager's ``hashAlert``).

:func:`xxh64` is the ``xxhash`` package's C function when it is installed (a dependency:
every alert of every notification is hashed, and the Python rounds cost about 20 µs a
label set); :func:`py_xxh64`, the same hash in Python, stands in without it.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

_c_xxh64: Callable[[bytes], int] | None
try:
    from xxhash import xxh64_intdigest as _c_xxh64
except ImportError:  # pragma: no cover - the dependency is installed with the package
    _c_xxh64 = None

_P1 = 11400714785074694791
_P2 = 14029467366897019727
_P3 = 1609587929392839161
_P4 = 9650029242287828579
_P5 = 2870177450012600261
_M = (1 << 64) - 1
_STRIPE = struct.Struct("<4Q")
_LANE = struct.Struct("<Q")


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & _M


def _round(acc: int, lane: int) -> int:
    acc = (acc + lane * _P2) & _M
    return (_rotl(acc, 31) * _P1) & _M


def _merge(acc: int, val: int) -> int:
    acc ^= _round(0, val)
    return (acc * _P1 + _P4) & _M


def py_xxh64(data: bytes, seed: int = 0) -> int:
    """The 64-bit xxHash of ``data`` (as Go's ``cespare/xxhash.Sum64`` with seed 0), in Python.

    The rounds of the two loops are written out (no helper calls): every alert of a
    notification is hashed, and a call costs more than the arithmetic."""
    n = len(data)
    i = 0
    if n >= 32:
        v1 = (seed + _P1 + _P2) & _M
        v2 = (seed + _P2) & _M
        v3 = seed
        v4 = (seed - _P1) & _M
        while i + 32 <= n:
            l1, l2, l3, l4 = _STRIPE.unpack_from(data, i)
            a = (v1 + l1 * _P2) & _M
            v1 = ((((a << 31) | (a >> 33)) & _M) * _P1) & _M
            a = (v2 + l2 * _P2) & _M
            v2 = ((((a << 31) | (a >> 33)) & _M) * _P1) & _M
            a = (v3 + l3 * _P2) & _M
            v3 = ((((a << 31) | (a >> 33)) & _M) * _P1) & _M
            a = (v4 + l4 * _P2) & _M
            v4 = ((((a << 31) | (a >> 33)) & _M) * _P1) & _M
            i += 32
        h = (_rotl(v1, 1) + _rotl(v2, 7) + _rotl(v3, 12) + _rotl(v4, 18)) & _M
        for v in (v1, v2, v3, v4):
            h = _merge(h, v)
    else:
        h = (seed + _P5) & _M
    h = (h + n) & _M
    while i + 8 <= n:
        a = (_LANE.unpack_from(data, i)[0] * _P2) & _M
        h ^= ((((a << 31) | (a >> 33)) & _M) * _P1) & _M
        h = ((((h << 27) | (h >> 37)) & _M) * _P1 + _P4) & _M
        i += 8
    if i + 4 <= n:
        h ^= (int.from_bytes(data[i:i + 4], "little") * _P1) & _M
        h = (_rotl(h, 23) * _P2 + _P3) & _M
        i += 4
    while i < n:
        h ^= (data[i] * _P5) & _M
        h = ((((h << 11) | (h >> 53)) & _M) * _P1) & _M
        i += 1
    h ^= h >> 33
    h = (h * _P2) & _M
    h ^= h >> 29
    h = (h * _P3) & _M
    h ^= h >> 32
    return h


xxh64: Callable[[bytes], int] = py_xxh64 if _c_xxh64 is None else _c_xxh64
"""The 64-bit xxHash of ``data`` (as Go's ``cespare/xxhash.Sum64`` with seed 0)."""


def labels_hash(pairs: list[tuple[str, str]]) -> int:
    """Prometheus' ``labels.Labels.Hash()``: xxhash of ``name\\xffvalue\\xff...`` (sorted)."""
    return xxh64(b"".join([b"%s\xff%s\xff" % (name.encode(), value.encode()) for name, value in sorted(pairs)]))
