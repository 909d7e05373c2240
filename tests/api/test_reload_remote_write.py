"""``POST /-/reload`` and SIGHUP change the remote-write queues of a running server: a second
URL added, a queue's relabelling changed, a queue removed; samples arrive at the right
receivers, none lost; a new ``remote_write`` that cannot be applied fails the reload (500
with the reason) and keeps the running queues."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import cramjam
import httpx

from sloguard.api._server import ServeOptions, Server
from sloguard.config import load_config
from sloguard.ingest._remote_write_proto import WriteRequest
from sloguard.ingest.remote_write import encode_write_request
from sloguard.labels import Labels
from tests._net import free_port
from tests.api.test_app_server import _no_wait, _until

QUEUE = "{batch_send_deadline: 50ms, min_backoff: 10ms, max_backoff: 50ms}"


class Receiver:
    """A remote write receiver on 127.0.0.1 keeping (labels, timestamp) of each sample."""

    def __init__(self) -> None:
        self.got: set[tuple[tuple[tuple[str, str], ...], int]] = set()
        got, lock = self.got, threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                req = WriteRequest()
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                req.ParseFromString(bytes(cramjam.snappy.decompress_raw(body)))
                with lock:
                    for ts in req.timeseries:
                        key = tuple((lb.name, lb.value) for lb in ts.labels)
                        got.update((key, s.timestamp) for s in ts.samples)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v1/write"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def batches(self, **match: str) -> set[int]:
        """The batch numbers (timestamp / 1000) of the samples whose labels include ``match``."""
        return {t // 1000 for key, t in self.got if dict(key).get("__name__") == "rw" and match.items() <= dict(key).items()}


def _entry(name: str, url: str, extra: str = "") -> str:
    return f"  - {{name: {name}, url: '{url}', queue_config: {QUEUE}{extra}}}\n"


def test_reload_adds_changes_and_removes_queues_without_losing_samples(tmp_path: Path) -> None:
    a, b = Receiver(), Receiver()
    cfg = tmp_path / "sloguard.yml"
    cfg.write_text("remote_write:\n" + _entry("a", a.url))
    options = ServeOptions(config_path=cfg, data_dir=tmp_path / "data", host="127.0.0.1", port=0,
                           enable_lifecycle=True, sleep=_no_wait)
    server = Server(options, load_config(cfg), out=io.StringIO())
    now = 1_700_000_000_000

    async def write(client: httpx.AsyncClient, batch: int) -> None:
        body = encode_write_request([(Labels.of(__name__="rw", i=str(i)), [now + batch * 1000], [float(batch)])
                                     for i in range(5)])
        r = await client.post("/api/v1/write", content=body, headers={"Content-Encoding": "snappy"})
        assert r.status_code == 204, r.text

    async def reload(client: httpx.AsyncClient, text: str, sighup: bool = False) -> httpx.Response | None:
        cfg.write_text(text)
        if not sighup:
            return await client.post("/-/reload")
        os.kill(os.getpid(), signal.SIGHUP)
        await _until(lambda: server._reload_task is not None and server._reload_task.done(), "the SIGHUP reload")
        assert server._reload_task is not None and server._reload_task.result()
        server._reload_task = None
        return None

    async def arrived(rx: Receiver, want: set[int], **match: str) -> None:
        await _until(lambda: {n - now // 1000 for n in rx.batches(**match)} >= want, f"batches {want} at {rx.url}")

    async def scenario(client: httpx.AsyncClient) -> None:
        await write(client, 1)
        await arrived(a, {1})
        # a second URL: a keeps running, b starts at the WAL's end
        r = await reload(client, "remote_write:\n" + _entry("a", a.url) + _entry("b", b.url))
        assert r is not None and r.status_code == 200, r.text
        await write(client, 2)
        await arrived(a, {1, 2})
        await arrived(b, {2})
        # a's relabelling changes (SIGHUP): it restarts from its stored position
        relabel = ", write_relabel_configs: [{target_label: rl, replacement: x, action: replace}]"
        await reload(client, "remote_write:\n" + _entry("a", a.url, relabel) + _entry("b", b.url), sighup=True)
        await write(client, 3)
        await arrived(a, {3}, rl="x")
        await arrived(b, {3})
        # a bad new remote_write (its TLS CA file is missing): 500, the running queues stay
        bad = _entry("c", f"https://127.0.0.1:{free_port()}/api/v1/write", ", tls_config: {ca_file: /nonexistent/ca.crt}")
        r = await reload(client, "remote_write:\n" + _entry("a", a.url) + bad)
        assert r is not None and r.status_code == 500
        assert "remote_write: remote_write c" in r.text and "keeping the running queues" in r.text
        await write(client, 4)
        await arrived(a, {4}, rl="x")  # still relabelled: a was not restarted with the bad config
        await arrived(b, {4})  # and b not removed
        # b removed
        r = await reload(client, "remote_write:\n" + _entry("a", a.url, relabel))
        assert r is not None and r.status_code == 200, r.text
        await write(client, 5)
        await arrived(a, {5}, rl="x")
        assert not (tmp_path / "data" / "remote_write" / "b.json").exists()
        m = (await client.get("/metrics")).text
        assert 'prometheus_remote_storage_shards{remote_name="b"' not in m
        assert 'prometheus_remote_storage_shards{remote_name="a"' in m

    async def main() -> None:
        task = asyncio.create_task(server.run())
        await _until(lambda: server.ctx is not None and server.ctx.ready, "readiness")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.bound_port}", timeout=20) as client:
            await scenario(client)
        server.request_stop()
        await asyncio.wait_for(task, 30)

    asyncio.run(main())
    # nothing lost: a got every batch, b every batch from when it was added until it was removed
    assert {n - now // 1000 for n in a.batches()} == {1, 2, 3, 4, 5}
    assert {n - now // 1000 for n in b.batches()} == {2, 3, 4}
    assert all(len([1 for key, t in a.got if t == now + n * 1000]) >= 5 for n in range(1, 6))


def test_a_server_started_without_remote_write_gets_queues_on_reload(tmp_path: Path) -> None:
    a = Receiver()
    cfg = tmp_path / "sloguard.yml"
    cfg.write_text("global: {scrape_interval: 5s}\n")
    options = ServeOptions(config_path=cfg, data_dir=tmp_path / "data", host="127.0.0.1", port=0,
                           enable_lifecycle=True, sleep=_no_wait)
    server = Server(options, load_config(cfg), out=io.StringIO())
    body = encode_write_request([(Labels.of(__name__="rw", i="0"), [1_700_000_000_000], [1.0])])

    async def scenario(client: httpx.AsyncClient) -> None:
        bad = _entry("c", f"https://127.0.0.1:{free_port()}/api/v1/write", ", tls_config: {ca_file: /nonexistent/ca.crt}")
        cfg.write_text("remote_write:\n" + bad)
        r = await client.post("/-/reload")
        assert r.status_code == 500 and "remote_write c" in r.text and "/nonexistent/ca.crt" in r.text
        assert server._remote_write is None
        cfg.write_text("remote_write:\n" + _entry("a", a.url))
        assert (await client.post("/-/reload")).status_code == 200
        r = await client.post("/api/v1/write", content=body, headers={"Content-Encoding": "snappy"})
        assert r.status_code == 204
        await _until(lambda: a.batches() == {1_700_000_000}, "the sample at a")

    async def main() -> None:
        task = asyncio.create_task(server.run())
        await _until(lambda: server.ctx is not None and server.ctx.ready, "readiness")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.bound_port}", timeout=20) as client:
            await scenario(client)
        server.request_stop()
        await asyncio.wait_for(task, 30)

    asyncio.run(main())
