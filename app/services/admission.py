"""Backpressure: at most MAX_CONCURRENT_TRANSCRIPTIONS run and MAX_QUEUED_REQUESTS wait; the rest get 429.

A bounded queue answers at once with `Retry-After` (which the openai client honours) instead of
letting requests pile up until proxies time them out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TypeVar, cast

import anyio

from app.domain.cancellation import Cancellation
from app.domain.errors import Cancelled
from app.services.errors import ClientGone, Draining, Overloaded, UploadsBusy, UploadTimedOut

T = TypeVar("T")
# Returns when the client has hung up (the HTTP edge watches its connection for that).
Disconnected = Callable[[], Awaitable[None]]


class UploadGate:
    """Bounds the uploads being received at once and how long one may take, so slow or stalled
    clients cannot pile up connections and spooled files before admission sees them."""

    def __init__(self, max_concurrent: int, timeout_seconds: float) -> None:
        self.max_concurrent = max_concurrent
        self.timeout_seconds = timeout_seconds
        self.receiving = 0  # mutated on the event loop only

    async def receive(self, read: Callable[[], Awaitable[T]]) -> T:
        """`read()` the body in an upload slot and within the time limit."""
        if self.receiving >= self.max_concurrent:
            raise UploadsBusy(self.max_concurrent)
        self.receiving += 1
        try:
            with anyio.fail_after(self.timeout_seconds):
                return await read()
        except TimeoutError:
            raise UploadTimedOut(self.timeout_seconds) from None
        finally:
            self.receiving -= 1


def inference_slots(count: int) -> anyio.CapacityLimiter:
    """The slots requests and live decodings share (MAX_CONCURRENT_TRANSCRIPTIONS, at least one)."""
    return anyio.CapacityLimiter(max(1, count))


class Admission:
    """Counts admitted requests on the event loop (no lock needed: one thread mutates it).

    `limiter` holds the inference slots: more threads than cores (or than one GPU) only thrash.
    """

    def __init__(self, limiter: anyio.CapacityLimiter, max_queued: int) -> None:
        self.limiter = limiter
        self.max_queued = max(0, max_queued)
        self.admitted = 0
        self.draining = False  # set on SIGTERM/SIGINT (app/entrypoints/server.py)
        # Requests whose client hung up: dropped while queued, or stopped while they ran.
        self.cancelled = {"queued": 0, "running": 0}

    @property
    def running(self) -> int:
        return int(self.limiter.borrowed_tokens)

    @property
    def waiting(self) -> int:
        return max(0, self.admitted - self.running)

    def admit(self) -> None:
        """Count one more request in, or raise Overloaded / Draining. Pair with `leave()`."""
        if self.draining:
            raise Draining()
        if self.admitted >= int(self.limiter.total_tokens) + self.max_queued:
            raise Overloaded(self.running, self.admitted - self.running)
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

    async def take_slot(self, disconnected: Disconnected, holder: object) -> None:
        """Wait for an inference slot, held for `holder` until `free_slot(holder)`.

        While waiting, watch the client: one that hangs up in the queue is dropped (ClientGone)
        without running inference.
        """
        acquired = False
        async with anyio.create_task_group() as waiting:

            async def drop_when_gone() -> None:
                await disconnected()
                waiting.cancel_scope.cancel()

            waiting.start_soon(drop_when_gone)
            await self.limiter.acquire_on_behalf_of(holder)
            acquired = True
            waiting.cancel_scope.cancel()
        if not acquired:
            self.cancelled["queued"] += 1
            raise ClientGone()

    def free_slot(self, holder: object) -> None:
        self.limiter.release_on_behalf_of(holder)

    async def run_in_slot(self, work: Callable[[], T]) -> T:
        """Run work nobody waits on (an async job) in a worker thread, in an inference slot. Cancelled
        (the server stops), the thread is left to finish on its own, as a crash would leave it."""
        holder = object()
        await self.limiter.acquire_on_behalf_of(holder)
        try:
            return await anyio.to_thread.run_sync(work, abandon_on_cancel=True)
        finally:
            self.free_slot(holder)

    async def run_admitted(self, disconnected: Disconnected, work: Callable[[], T]) -> T:
        """Admit the request, then `run_when_free`: for short work on what a client sent (a speaker
        reference, an enrolment), which must not run past the limits that bound transcriptions."""
        async with self.slot():
            return await self.run_when_free(disconnected, work)

    async def run_when_free(
        self, disconnected: Disconnected, work: Callable[[], T], *, follow_client: bool = True
    ) -> T:
        """Wait for an inference slot, then run `work` in a worker thread while holding it.

        With `follow_client`, a client that hangs up meanwhile cancels the work: it stops at its next
        checkpoint (app/domain/cancellation.py) and the slot is free again (ClientGone)."""
        holder = object()
        await self.take_slot(disconnected, holder)
        cancellation = Cancellation()

        async def cancel_when_gone() -> None:
            await disconnected()
            cancellation.cancel()

        try:
            async with anyio.create_task_group() as watch:
                if follow_client:
                    watch.start_soon(cancel_when_gone)
                # The slot is held for this call; the thread itself needs no second one.
                result, error = await anyio.to_thread.run_sync(
                    _captured, lambda: cancellation.run(work), abandon_on_cancel=False
                )
                watch.cancel_scope.cancel()
        finally:
            self.free_slot(holder)
        if isinstance(error, Cancelled) and cancellation.cancelled:
            self.cancelled["running"] += 1
            raise ClientGone() from None
        if error is not None:
            raise error
        return cast(T, result)


def _captured(work: Callable[[], T]) -> tuple[T | None, Exception | None]:
    """The work's result or its error, as values: an error raised inside the watching task group would
    leave it wrapped in an ExceptionGroup."""
    try:
        return work(), None
    except Exception as exc:  # noqa: BLE001 - re-raised by the caller, outside the task group
        return None, exc
