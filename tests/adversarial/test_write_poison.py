"""Issue 8, item 2: one remote write with a 65,536-byte label name must not stop ingestion.

It got a 500 and left a half-created series, so every later write and scrape failed until a
restart, and SIGTERM then exited with a traceback. Now: a 400 for that request only.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from sloguard.ingest.remote_write import encode_write_request
from tests.adversarial.conftest import Acked, Server, attack_window, config_text, wait_until

pytestmark = [pytest.mark.adversarial, pytest.mark.timeout(90)]


def _self_scraping(make_server: Callable[..., Server]) -> Server:
    server = make_server(start=False)
    server.config_path.write_text(config_text({"scrape_configs": [{
        "job_name": "self", "scrape_interval": "1s", "scrape_timeout": "1s",
        "static_configs": [{"targets": [f"127.0.0.1:{server.port}"]}],
    }]}))
    return server.start()


def _scraped_after(server: Server, t: float) -> bool:
    status, body = server.query('timestamp(up{job="self"} == 1)', at=time.time())
    result = body.get("data", {}).get("result", []) if status == 200 else []
    return bool(result) and float(result[0]["value"][1]) > t


def test_a_huge_label_name_is_refused_and_ingestion_goes_on(make_server: Callable[..., Server]) -> None:
    server = _self_scraping(make_server)
    acked = Acked("adv_poison")
    acked.seed(server, tag="before")
    now = int(time.time() * 1000)
    with attack_window(server, acked):
        # the 65,536 bytes (one past the WAL's u16 length), one far past it; each sent
        # twice, as a sender retries: the same request must get the same answer
        for name_bytes in (65_536, 65_536, 70_000, 70_000):
            poison = encode_write_request([((("__name__", "adv_poison"), ("a" * name_bytes, "v")), [now], [1.0])])
            r = server.write(poison)
            assert r.status_code == 400, f"a {name_bytes}-byte label name got {r.status_code}: {r.text[:300]}"
            assert "label" in r.text.lower(), f"the 400 does not say what is wrong: {r.text[:300]}"
        attacked_at = time.time()
        acked.seed(server, tag="after")
    wait_until(lambda: _scraped_after(server, attacked_at), 10, "a successful scrape after the bad write")
    assert "a" * 1000 not in server.logs(), "the log repeats the attacker's label name"
    code = server.stop()
    assert code == 0, f"SIGTERM after the attack exited with {code}"
    assert "Traceback" not in server.logs(), server.log_tail()
