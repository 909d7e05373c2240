"""The notification log's calls of concurrent flushes run in one transaction per round,
each returning only after its commit, with the results a call alone would give."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sloguard.alerting._nflog_async import BatchedNflog, InlineNflog
from sloguard.state import NflogReceiver, StateUnavailable, open_store

HOOK = NflogReceiver("team", "webhook", 0)


def test_concurrent_calls_share_transactions_and_get_their_own_results(tmp_path: Path) -> None:
    store = open_store(data_dir=tmp_path, clock=lambda: 1_000)
    batched = BatchedNflog(store.nflog)

    async def flush(i: int) -> tuple[bool, bool, tuple[int, ...]]:
        key = f"{{}}:{{g=\"{i}\"}}"
        assert await batched.query(HOOK, key) is None
        won = await batched.claim(HOOK, key, "0:a:b", "me", expires_at=5_000)
        lost = await batched.claim(HOOK, key, "0:a:b", "other", expires_at=5_000)
        await batched.log(HOOK, key, [i, 7], [], expires_at=9_000, timestamp=2_000)
        entry = await batched.query(HOOK, key)
        assert entry is not None
        return won, lost, entry.firing

    async def main() -> list[tuple[bool, bool, tuple[int, ...]]]:
        return await asyncio.gather(*(flush(i) for i in range(200)))

    results = asyncio.run(main())
    assert results == [(True, False, tuple(sorted({i, 7}))) for i in range(200)]
    assert batched.operations == 1000
    assert batched.batches <= 10  # five rounds of 200 calls, not a thousand transactions
    assert store.nflog.query(HOOK, '{}:{g="3"}') is not None  # committed, seen by a plain read
    store.close()


def test_a_failed_transaction_fails_every_call_in_it(tmp_path: Path) -> None:
    store = open_store(data_dir=tmp_path)

    async def broken(fn: object) -> object:
        raise StateUnavailable("The state database is unavailable: connection refused.")

    batched = BatchedNflog(store.nflog, run_db=broken)  # type: ignore[arg-type]

    async def main() -> list[object]:
        return await asyncio.gather(*(batched.query(HOOK, str(i)) for i in range(5)), return_exceptions=True)

    assert all(isinstance(r, StateUnavailable) for r in asyncio.run(main()))
    store.close()


def test_inline_calls_give_the_same_results(tmp_path: Path) -> None:
    store = open_store(data_dir=tmp_path, clock=lambda: 1_000)
    inline = InlineNflog(store.nflog)

    async def main() -> tuple[bool, bool]:
        return (await inline.claim(HOOK, "k", "f", "me", expires_at=5_000),
                await inline.claim(HOOK, "k", "f", "you", expires_at=5_000))

    assert asyncio.run(main()) == (True, False)
    store.close()


@pytest.mark.parametrize("max_batch", [1, 7])
def test_a_batch_limit_splits_rounds(tmp_path: Path, max_batch: int) -> None:
    store = open_store(data_dir=tmp_path)
    batched = BatchedNflog(store.nflog, max_batch=max_batch)

    async def main() -> None:
        await asyncio.gather(*(batched.query(HOOK, str(i)) for i in range(21)))

    asyncio.run(main())
    assert batched.batches == -(-21 // max_batch)
    store.close()
