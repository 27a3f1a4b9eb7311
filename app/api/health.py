from __future__ import annotations

from litestar import get

from app.api.schemas import Health


@get(["/health", "/healthcheck"], tags=["health"])
async def health() -> Health:
    """Answers from the event loop, so it stays fast while inference runs in worker threads."""
    return Health(status="healthy")
