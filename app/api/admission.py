"""Backpressure: at most MAX_CONCURRENT_TRANSCRIPTIONS run and MAX_QUEUED_REQUESTS wait; the rest get 429.

A bounded queue answers at once with `Retry-After` (which the openai client honours) instead of
letting requests pile up until proxies time them out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

RETRY_AFTER_SECONDS = 2


class Overloaded(Exception):
    def __init__(self, running: int, queued: int) -> None:
        super().__init__(
            f"The server is busy ({running} transcriptions running, {queued} waiting); retry after "
            f"{RETRY_AFTER_SECONDS} seconds."
        )
        self.retry_after = RETRY_AFTER_SECONDS


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
