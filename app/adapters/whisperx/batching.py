"""Windows that several requests encode or decode at the same time go through the model together.

A batched beam search costs far less per window than one window at a time (matrix products instead
of vector products), and on a GPU the encoder gains the same way. So every call a request makes to
the model's encoder or decoder is handed in here, and whichever caller finds the model free runs the
next batch for all waiting callers whose work can share it (same operation, same window length, same search options).

Fair by arrival: a batch takes the waiting calls in the order they came, each whole, up to
`max_windows` rows. A long file hands in one batch of windows at a time and queues again behind
everyone who arrived meanwhile, so it cannot starve short clips. No thread of its own: callers run
the batches, and a caller whose work another caller ran simply takes its rows.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

ACTIVE_SECONDS = 1.0  # a thread that handed work in this recently may hand in more soon
# Runs one combined batch: the rows of every call stacked, and each row's extra (a prompt), giving
# one result per row.
BatchRunner = Callable[[np.ndarray, list[Any]], Sequence[Any] | np.ndarray]


@dataclass(eq=False, slots=True)
class _Call:
    key: Hashable
    inputs: np.ndarray
    extras: list[Any]
    run: BatchRunner
    results: Sequence[Any] | np.ndarray | None = None
    error: BaseException | None = None
    done: bool = False


@dataclass(slots=True)
class BatchStats:
    """What the batches held: for /metrics and the tests that show requests share them."""

    batches: int = 0
    rows: int = 0
    calls: int = 0
    largest: int = 0
    shared: int = 0  # batches that held more than one caller's rows
    retried: int = 0  # calls run again alone after their shared batch failed

    def record(self, calls: int, rows: int) -> None:
        self.batches += 1
        self.rows += rows
        self.calls += calls
        self.largest = max(self.largest, rows)
        self.shared += calls > 1


@dataclass(eq=False)
class SharedBatches:
    """One per loaded model: its encoder and decoder calls, gathered into batches across requests."""

    max_windows: int = 1
    # How long a caller that finds the model idle waits for others to arrive: requests sent together
    # rarely reach the model in the same millisecond. Only while other threads (requests) have used
    # the model lately: a lone client never waits.
    gather_seconds: float = 0.0
    stats: BatchStats = field(default_factory=BatchStats)
    _waiting: deque[_Call] = field(default_factory=deque)
    _busy: bool = False
    _changed: threading.Condition = field(default_factory=threading.Condition)
    _seen: dict[int, float] = field(default_factory=dict)  # thread id -> when it last handed work in
    sleep: Callable[[float], None] = time.sleep
    # Called by the thread that ran a batch, once the batch is done (the model store hands freed
    # memory back to the system here).
    after_batch: Callable[[], object] = lambda: None

    def run(
        self, key: Hashable, inputs: np.ndarray, extras: list[Any], run: BatchRunner, wait_for_company: bool = True
    ) -> Sequence[Any] | np.ndarray:
        """`run(inputs, extras)`, possibly as part of a larger batch; this call's results in order.
        Calls with equal `key` must mean the same computation (`run` of the first one is used).
        `wait_for_company=False`: never gather (a live turn, whose latency is what matters)."""
        call = _Call(key, inputs, extras, run)
        with self._changed:
            self._waiting.append(call)
            others = self._others_active()  # asked every time: it also records this thread as active
            gather = self.gather_seconds if wait_for_company and others else 0.0
        while True:
            with self._changed:
                while not call.done and self._busy:
                    self._changed.wait()
                if call.done:
                    if call.error is not None:
                        raise call.error
                    assert call.results is not None
                    return call.results
                self._busy = True  # this thread runs the next batch, which starts with the oldest call
                alone = len(self._waiting) < 2
            try:
                if gather > 0 and alone:
                    self.sleep(gather)
                with self._changed:
                    batch = self._take()
                self._run(batch)
            finally:
                with self._changed:
                    self._busy = False
                    self._changed.notify_all()
            self.after_batch()
            gather = 0.0

    def _others_active(self) -> bool:
        """Whether a thread other than this one handed work in within the last second (under the lock)."""
        now, me = time.monotonic(), threading.get_ident()
        self._seen[me] = now
        for thread, seen in list(self._seen.items()):
            if now - seen > ACTIVE_SECONDS:
                del self._seen[thread]
        return len(self._seen) > 1

    def _take(self) -> list[_Call]:
        """The oldest waiting call, and after it every waiting call of the same key that still fits."""
        head = self._waiting.popleft()
        batch, rows = [head], len(head.inputs)
        for call in list(self._waiting):
            if call.key == head.key and rows + len(call.inputs) <= self.max_windows:
                self._waiting.remove(call)
                batch.append(call)
                rows += len(call.inputs)
        return batch

    def _run(self, batch: list[_Call]) -> None:
        try:
            inputs = batch[0].inputs if len(batch) == 1 else np.concatenate([call.inputs for call in batch])
            results = batch[0].run(inputs, [extra for call in batch for extra in call.extras])
        except Exception as exc:  # noqa: BLE001 - each call gets the error, or a retry alone
            if len(batch) == 1:
                self._fail(batch, exc)
                return
            # A shared batch failed (out of memory, one caller's bad rows): each call again alone, so
            # only a call that cannot run fails and the others get their results.
            with self._changed:
                self.stats.retried += len(batch)
            for call in batch:
                self._run([call])
            return
        except BaseException as exc:  # noqa: BLE001 - KeyboardInterrupt, shutdown: the callers get it, no retry
            self._fail(batch, exc)
            return
        with self._changed:
            self.stats.record(len(batch), len(inputs))
            start = 0
            for call in batch:
                call.results, call.done = results[start : start + len(call.inputs)], True
                start += len(call.inputs)

    def _fail(self, batch: list[_Call], error: BaseException) -> None:
        with self._changed:
            for call in batch:
                call.error, call.done = error, True
