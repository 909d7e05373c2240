"""Remote-write receiver: ``POST /api/v1/write`` (Prometheus remote write 1.0).

Answers like Prometheus' write handler: 204 when everything was stored; 400 with a text
message for a malformed body (snappy, protobuf; a snappy header declaring more than
``remote_write_receiver.max_decompressed_bytes``), invalid labels or labels over the
configured label limits, or refused samples (out of order, duplicate, out of bounds),
after the valid samples of the request have been committed; 413 for a body over ``ctx.max_write_body_bytes``; 415 for a Content-Encoding
other than snappy or a Content-Type other than ``application/x-protobuf`` (1.0 message).

The endpoint is a plain ASGI app (no Request/Response objects: this is the hot path of
ingestion); decoding and the commit (WAL fsync) run in a worker thread, off the event loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from sloguard.api._context import ServerContext
from sloguard.ingest.remote_write import (
    LabelLimits,
    RemoteWriteDecoder,
    RemoteWriteError,
    apply,
)
from sloguard.tsdb import AppendResult

log = logging.getLogger("sloguard.ingest")

#: Prometheus refuses samples more than this far ahead of its clock (``maxAheadTime``).
MAX_AHEAD_MS = 10 * 60 * 1000
_PROTO_TYPE = "application/x-protobuf"
_V1_MESSAGE = "prometheus.WriteRequest"
_WANTED = (b"content-type", b"content-encoding", b"content-length")
_TEXT = b"text/plain; charset=utf-8"


class _Disconnected(Exception):
    """The client went away before its body was read."""


def _headers(scope: Scope) -> dict[bytes, str]:
    """The first value of each header the receiver looks at (ASGI names are lower case)."""
    found: dict[bytes, str] = {}
    for name, value in scope["headers"]:
        if name in _WANTED and name not in found:
            found[name] = value.decode("latin-1")
    return found


def _check_headers(headers: dict[bytes, str]) -> None:
    ctype = headers.get(b"content-type", "").strip()
    if ctype:
        media, *params = (p.strip() for p in ctype.split(";"))
        if media != _PROTO_TYPE:
            raise RemoteWriteError(
                415, f"expected {_PROTO_TYPE} as the first (media) part, got {ctype} content-type"
            )
        for p in params:
            key, _, value = p.partition("=")
            if key.strip() == "proto" and value.strip() != _V1_MESSAGE:
                raise RemoteWriteError(
                    415,
                    f"{value.strip()} protobuf message is not accepted by this server; "
                    f"accepted [{_V1_MESSAGE}]",
                )
    enc = headers.get(b"content-encoding", "")
    if enc and enc.strip().lower() != "snappy":
        raise RemoteWriteError(
            415, f"{enc} encoding (compression) is not accepted by this server; only snappy is acceptable"
        )


async def _read_body(receive: Receive, declared: str, limit: int) -> bytes | bytearray:
    """The whole body (one buffer), or 413 as soon as it is known to exceed ``limit``."""
    too_big = RemoteWriteError(413, f"the request body is larger than the limit of {limit} bytes")
    if declared.isdigit() and int(declared) > limit:
        raise too_big
    body: bytes | bytearray = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        if message["type"] != "http.request":
            continue
        chunk = message.get("body", b"")
        if not body:
            body = chunk  # the common case: the whole body in one message, no copy
        else:
            if isinstance(body, bytes):
                body = bytearray(body)
            body += chunk
        if len(body) > limit:
            raise too_big
        if not message.get("more_body", False):
            return body


def _answer(result: AppendResult) -> tuple[int, str | None]:
    if not result.rejected_total:
        return 204, None
    reasons = ", ".join(f"{r.value}: {n}" for r, n in result.rejected.items())
    log.warning(
        "Remote write refused samples",
        extra={"appended": result.appended, "rejected": reasons, "first_error": result.errors[:1]},
    )
    lines = [f"{result.rejected_total} sample(s) refused ({reasons}); {result.appended} stored"]
    lines += result.errors
    return 400, "\n".join(lines) + "\n"


async def _respond(send: Send, status: int, text: str | None) -> None:
    """An empty answer (no headers, like Starlette's ``Response(status_code=...)``) or a
    ``text/plain`` one (like ``PlainTextResponse``)."""
    body = b"" if text is None else text.encode("utf-8")
    headers = [] if text is None else [(b"content-length", str(len(body)).encode()), (b"content-type", _TEXT)]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class WriteEndpoint:
    """The ASGI app behind ``POST /api/v1/write``, with its own label cache and an
    injectable clock (seconds since the epoch)."""

    def __init__(
        self,
        ctx: ServerContext,
        decoder: RemoteWriteDecoder | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._ctx = ctx
        self._decoder = decoder or RemoteWriteDecoder()
        self._clock = clock

    def _configure(self) -> None:
        """Follow the (reloadable) ``remote_write_receiver`` settings of the loaded config."""
        settings = getattr(self._ctx.config, "remote_write_receiver", None)
        if settings is not None:
            self._decoder.configure(settings.max_decompressed_bytes, LabelLimits(
                settings.label_limit, settings.label_name_length_limit, settings.label_value_length_limit))

    def ingest(self, body: bytes | bytearray) -> AppendResult:
        """Decode ``body`` and commit its samples (blocking: WAL fsync)."""
        self._configure()
        batch = self._decoder.decode(body)
        if batch.histograms or batch.exemplars:
            log.warning(
                "Remote write: native histograms and exemplars are not supported; dropped",
                extra={"histograms": batch.histograms, "exemplars": batch.exemplars},
            )
        max_time_ms = int(self._clock() * 1000) + MAX_AHEAD_MS
        result = apply(self._ctx.storage, batch, max_time_ms=max_time_ms)
        self._ctx.remote_write_stats.count_samples(result, batch.histograms, batch.exemplars)
        return result

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            headers = _headers(scope)
            _check_headers(headers)
            limit = self._ctx.max_write_body_bytes
            body = await _read_body(receive, headers.get(b"content-length", ""), limit)
            status, text = _answer(await run_in_threadpool(self.ingest, body))
        except RemoteWriteError as e:
            log.warning("Error decoding remote write request", extra={"status": e.status, "err": e.message})
            status, text = e.status, e.message + "\n"
        except _Disconnected:
            status, text = 400, None
        except Exception as e:
            log.exception("Error while remote writing the request")
            status, text = 500, f"remote write failed: {e}\n"
        self._ctx.remote_write_stats.count_request(status)
        await _respond(send, status, text)


def make_handler(
    ctx: ServerContext,
    decoder: RemoteWriteDecoder | None = None,
    clock: Callable[[], float] = time.time,
) -> WriteEndpoint:
    """The endpoint (an ASGI app for a ``Route`` with ``methods=["POST"]``)."""
    return WriteEndpoint(ctx, decoder, clock)


def routes(ctx: ServerContext) -> list[BaseRoute]:
    return [Route("/api/v1/write", make_handler(ctx), methods=["POST"])]
