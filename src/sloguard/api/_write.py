"""Remote-write receiver: ``POST /api/v1/write`` (Prometheus remote write 1.0).

Answers like Prometheus' write handler: 204 when everything was stored; 400 with a text
message for a malformed body (snappy, protobuf), invalid labels or refused samples (out
of order, duplicate, out of bounds), after the valid samples of the request have been
committed; 413 for a body over ``ctx.max_write_body_bytes``; 415 for a Content-Encoding
other than snappy or a Content-Type other than ``application/x-protobuf`` (1.0 message).
Decoding and the commit (WAL fsync) run in a worker thread, off the event loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from sloguard.api._context import ServerContext
from sloguard.ingest.remote_write import (
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


def _check_headers(request: Request) -> None:
    ctype = request.headers.get("content-type", "").strip()
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
    enc = request.headers.get("content-encoding", "")
    if enc and enc.strip().lower() != "snappy":
        raise RemoteWriteError(
            415, f"{enc} encoding (compression) is not accepted by this server; only snappy is acceptable"
        )


async def _read_body(request: Request, limit: int) -> bytes:
    too_big = RemoteWriteError(413, f"the request body is larger than the limit of {limit} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_big
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_big
    return bytes(body)


def _answer(result: AppendResult) -> Response:
    if not result.rejected_total:
        return Response(status_code=204)
    reasons = ", ".join(f"{r.value}: {n}" for r, n in result.rejected.items())
    log.warning(
        "Remote write refused samples",
        extra={"appended": result.appended, "rejected": reasons, "first_error": result.errors[:1]},
    )
    lines = [f"{result.rejected_total} sample(s) refused ({reasons}); {result.appended} stored"]
    lines += result.errors
    return PlainTextResponse("\n".join(lines) + "\n", status_code=400)


def make_handler(
    ctx: ServerContext,
    decoder: RemoteWriteDecoder | None = None,
    clock: Callable[[], float] = time.time,
) -> Callable[[Request], Awaitable[Response]]:
    """The request handler, with its own label cache and an injectable clock (seconds)."""
    dec = decoder or RemoteWriteDecoder()

    def ingest(body: bytes) -> AppendResult:
        batch = dec.decode(body)
        if batch.histograms or batch.exemplars:
            log.warning(
                "Remote write: native histograms and exemplars are not supported; dropped",
                extra={"histograms": batch.histograms, "exemplars": batch.exemplars},
            )
        return apply(ctx.storage, batch, max_time_ms=int(clock() * 1000) + MAX_AHEAD_MS)

    async def write(request: Request) -> Response:
        try:
            _check_headers(request)
            body = await _read_body(request, ctx.max_write_body_bytes)
            result = await run_in_threadpool(ingest, body)
        except RemoteWriteError as e:
            log.warning("Error decoding remote write request", extra={"status": e.status, "err": e.message})
            return PlainTextResponse(e.message + "\n", status_code=e.status)
        except ClientDisconnect:
            return Response(status_code=400)
        except Exception as e:
            log.exception("Error while remote writing the request")
            return PlainTextResponse(f"remote write failed: {e}\n", status_code=500)
        return _answer(result)

    return write


def routes(ctx: ServerContext) -> list[BaseRoute]:
    return [Route("/api/v1/write", make_handler(ctx), methods=["POST"])]
