"""Backpressure: at most MAX_CONCURRENT_TRANSCRIPTIONS run and MAX_QUEUED_REQUESTS wait; the rest get 429.

A bounded queue answers at once with `Retry-After` (which the openai client honours) instead of
letting requests pile up until proxies time them out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

import anyio
from litestar.types import Receive

T = TypeVar("T")

RETRY_AFTER_SECONDS = 2


class Overloaded(Exception):
    def __init__(self, running: int, queued: int) -> None:
        super().__init__(
            f"The server is busy ({running} transcriptions running, {queued} waiting); retry after "
            f"{RETRY_AFTER_SECONDS} seconds."
        )
        self.retry_after = RETRY_AFTER_SECONDS


class ClientGone(Exception):
    """The client disconnected before its request was served (mid-upload or while queued)."""


class Draining(Exception):
    """The server is shutting down: it finishes what it has and takes nothing new."""

    retry_after = RETRY_AFTER_SECONDS


class Admission:
    """Counts admitted requests on the event loop (no lock needed: one thread mutates it)."""

    def __init__(self, limiter: anyio.CapacityLimiter, max_queued: int) -> None:
        self.limiter = limiter
        self.max_queued = max_queued
        self.admitted = 0
        self.draining = False  # set on SIGTERM/SIGINT (app/__main__.py)

    def admit(self) -> None:
        """Count one more request in, or raise Overloaded / Draining. Pair with `leave()`."""
        if self.draining:
            raise Draining("The server is shutting down; retry on another instance or in a moment.")
        if self.admitted >= int(self.limiter.total_tokens) + self.max_queued:
            running = int(self.limiter.borrowed_tokens)
            raise Overloaded(running, self.admitted - running)
        self.admitted += 1

    def leave(self) -> None:
        self.admitted -= 1

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        self.admit()
        try:
            yield
        finally:
            self.leave()


async def run_when_free(limiter: anyio.CapacityLimiter, receive: Receive, work: Callable[[], T]) -> T:
    """Wait for an inference slot, then run `work` in a worker thread while holding it.

    While waiting, watch the connection: a client that hangs up in the queue is dropped (ClientGone)
    without running inference. Call only after the request body has been read, so the next ASGI
    message can only be the disconnect.
    """
    acquired = False
    async with anyio.create_task_group() as waiting:

        async def watch_for_disconnect() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            waiting.cancel_scope.cancel()

        waiting.start_soon(watch_for_disconnect)
        await limiter.acquire()
        acquired = True
        waiting.cancel_scope.cancel()
    if not acquired:
        raise ClientGone
    try:
        # The slot is this task's token; the thread itself needs no second one.
        return await anyio.to_thread.run_sync(work, abandon_on_cancel=False)
    finally:
        limiter.release()
