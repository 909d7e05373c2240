"""The alerting core starts its HTTP sender process with the pipeline (not at the first
notification) when an integration will post through the shared client, and only then: a
configuration without one starts none until a reload brings one; stopping the core ends it.
(A close during the start: tests/httpclient/test_offload.py.)"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from sloguard.alerting.config import parse_config
from sloguard.alerting.core import AlertingCore, CoreOptions
from sloguard.clock import ManualClock
from sloguard.state import open_store
from tests.httpclient._procs import sender_children

NOW = 1_700_000_000_000
WEBHOOK = "route: {receiver: hook}\nreceivers: [{name: hook, webhook_configs: [{url: 'http://127.0.0.1:9/hook'}]}]\n"
OWN_CLIENT = ("route: {receiver: hook}\nreceivers: [{name: hook, webhook_configs: [{url: 'http://127.0.0.1:9/hook', "
              "http_config: {basic_auth: {username: u, password: p}}}]}]\n")
EMAIL = ("route: {receiver: mail}\nreceivers: [{name: mail, email_configs: [{to: a@example.org, from: b@example.org, "
         "smarthost: '127.0.0.1:25'}]}]\n")


def _senders() -> list[int]:
    return sender_children(os.getpid())


async def _settled_senders() -> list[int]:
    """The senders once a start in flight had time to show (up to 10 s)."""
    for _ in range(200):
        if found := _senders():
            return found
        await asyncio.sleep(0.05)
    return []


def _core(tmp_path: Path, cfg: str) -> AlertingCore:
    clock = ManualClock(NOW)
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}", clock=clock.now_ms)
    return AlertingCore(parse_config(cfg, file="<test>"), cfg, store, clock, CoreOptions("r0", http_sender=True))


def test_a_webhook_config_starts_the_sender_with_the_pipeline_and_stop_ends_it(tmp_path: Path) -> None:
    async def scenario() -> None:
        core = _core(tmp_path, WEBHOOK)
        await core.start()
        try:
            assert len(await _settled_senders()) == 1  # no alert has come yet
        finally:
            await core.stop()
        assert _senders() == []

    asyncio.run(scenario())


def test_a_config_posting_through_no_shared_client_starts_none_until_a_reload_brings_one(tmp_path: Path) -> None:
    async def scenario() -> None:
        core = _core(tmp_path, EMAIL)
        await core.start()
        try:
            await asyncio.sleep(1.0)
            assert _senders() == []
            await core.apply_config(parse_config(OWN_CLIENT, file="<test>"), OWN_CLIENT)
            await asyncio.sleep(1.0)
            assert _senders() == []  # its own http_config: its own client, in this process
            await core.apply_config(parse_config(WEBHOOK, file="<test>"), WEBHOOK)
            assert len(await _settled_senders()) == 1
        finally:
            await core.stop()
        assert _senders() == []

    asyncio.run(scenario())

