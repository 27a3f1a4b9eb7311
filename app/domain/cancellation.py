"""Cooperative cancellation of blocking work.

A worker thread cannot be stopped from outside, so work that nobody may wait for any more checks at
its own boundaries (a block of decoded audio, of VAD, a decoder batch, a pipeline stage) and stops
there: `checkpoint()` raises Cancelled once the Cancellation the work runs under is cancelled. Work
run under none (an async job, a followed request) never stops at a checkpoint.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextvars import ContextVar
from typing import TypeVar

from app.domain.errors import Cancelled

T = TypeVar("T")


class Cancellation:
    def __init__(self) -> None:
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        """Called from any thread (the event loop, when the client hangs up)."""
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def run(self, work: Callable[[], T]) -> T:
        """Run `work` in this thread, its checkpoints answering to this cancellation."""
        token = _current.set(self)
        try:
            return work()
        finally:
            _current.reset(token)


_current: ContextVar[Cancellation | None] = ContextVar("cancellation", default=None)


def checkpoint() -> None:
    """Raise Cancelled if the work running here was cancelled. Cheap: call it at every boundary."""
    current = _current.get()
    if current is not None and current.cancelled:
        raise Cancelled()
