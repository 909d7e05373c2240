"""One HTTP request for the remote providers, with every failure as a ``ProviderError``."""

from __future__ import annotations

import httpx

from sloguard.delivery.analysis.providers._base import ProviderError

#: Largest response body read (bytes); a bigger one is refused.
MAX_BODY_BYTES = 8 * 1024 * 1024


async def send(
    client: httpx.AsyncClient | None, request: httpx.Request, *, timeout_s: float, verify: bool,
) -> httpx.Response:
    """Send ``request`` on ``client`` (or a fresh one); ``ProviderError`` names the URL and
    what went wrong: unreachable, timed out, or a body over ``MAX_BODY_BYTES``."""
    what = f"{request.method} {request.url.copy_with(query=None)}"
    try:
        if client is not None:
            return await _read(client, request, timeout_s, what)
        async with httpx.AsyncClient(verify=verify, trust_env=False) as own:
            return await _read(own, request, timeout_s, what)
    except httpx.TimeoutException:
        raise ProviderError(f"{what} did not answer within {timeout_s:g} s.") from None
    except httpx.HTTPError as e:
        raise ProviderError(f"{what} failed: {type(e).__name__}: {e or 'no detail'}.") from None


async def _read(client: httpx.AsyncClient, request: httpx.Request, timeout_s: float, what: str) -> httpx.Response:
    request.extensions["timeout"] = httpx.Timeout(timeout_s).as_dict()
    response = await client.send(request, stream=True)
    try:
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                raise ProviderError(f"{what} answered with more than {MAX_BODY_BYTES} bytes.", False)
    finally:
        await response.aclose()
    return httpx.Response(response.status_code, headers=response.headers, content=bytes(body), request=request)
