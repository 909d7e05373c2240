"""The ``decodes`` fixture: every block frame decode, as ``(block ulid, frame)``, in order
(the TSDB's and the rule manager's read-ahead tests count them)."""

from __future__ import annotations

import pytest

from sloguard.tsdb import _block


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    seen: list[tuple[str, int]] = []
    real = _block.Block._decode

    def counting(self: _block.Block, f: int, *rest: int) -> object:
        seen.append((self.ulid, f))
        return real(self, f, *rest)

    monkeypatch.setattr(_block.Block, "_decode", counting)
    return seen
