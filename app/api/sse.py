"""Server-sent events: the one place a payload becomes an event on the wire."""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec
from litestar.response import Stream


def sse_event(payload: object) -> bytes:
    """`data: <json>` and a blank line; `payload` is a msgspec Struct or plain data."""
    return b"data: " + msgspec.json.encode(payload) + b"\n\n"


def sse_response(payloads: AsyncIterator[object]) -> Stream:
    async def events() -> AsyncIterator[bytes]:
        async for payload in payloads:
            yield sse_event(payload)

    return Stream(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
