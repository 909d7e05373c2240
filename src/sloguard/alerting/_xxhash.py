"""XXH64 (seed 0), the hash Alertmanager's dedup stage gives an alert (``xxhash.Sum64``).

A plain implementation of the published algorithm: 32-byte stripes over four lanes, then
8-, 4- and 1-byte tails and the final avalanche, all modulo 2**64.
"""

from __future__ import annotations

import struct

_P1 = 11400714785074694791
_P2 = 14029467366897019727
_P3 = 1609587929392839161
_P4 = 9650029242287828579
_P5 = 2870177450012600261
_M = (1 << 64) - 1


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & _M


def _round(acc: int, lane: int) -> int:
    return (_rotl((acc + lane * _P2) & _M, 31) * _P1) & _M


def _merge(h: int, v: int) -> int:
    return ((h ^ _round(0, v)) * _P1 + _P4) & _M


def _stripes(data: bytes, end: int) -> int:
    v = [(_P1 + _P2) & _M, _P2, 0, (-_P1) & _M]
    for off in range(0, end, 32):
        lanes = struct.unpack_from("<4Q", data, off)
        v = [_round(a, b) for a, b in zip(v, lanes, strict=True)]
    h = (_rotl(v[0], 1) + _rotl(v[1], 7) + _rotl(v[2], 12) + _rotl(v[3], 18)) & _M
    for lane in v:
        h = _merge(h, lane)
    return h


def xxh64(data: bytes) -> int:
    """The 64-bit XXH64 digest of ``data`` with seed 0."""
    n = len(data)
    end = n - n % 32
    h = _stripes(data, end) if n >= 32 else _P5
    h = (h + n) & _M
    i = end
    while i + 8 <= n:
        (lane,) = struct.unpack_from("<Q", data, i)
        h = (_rotl(h ^ _round(0, lane), 27) * _P1 + _P4) & _M
        i += 8
    if i + 4 <= n:
        (word,) = struct.unpack_from("<I", data, i)
        h = (_rotl(h ^ (word * _P1 & _M), 23) * _P2 + _P3) & _M
        i += 4
    for byte in data[i:]:
        h = (_rotl(h ^ (byte * _P5 & _M), 11) * _P1) & _M
    h = ((h ^ (h >> 33)) * _P2) & _M
    h = ((h ^ (h >> 29)) * _P3) & _M
    return h ^ (h >> 32)
