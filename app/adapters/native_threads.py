"""Work that must run on a thread of its own, which ends with it.

CTranslate2 ships its own OpenMP runtime (libgomp). OpenMP gives every thread that starts a parallel
region a team of worker threads, kept until that thread exits, and libgomp counts the threads of all
teams: once they outnumber the CPUs, every barrier spins 100 times instead of 300 000 before it sleeps
on a futex, so the decoder's many small parallel steps sleep and wake thousands of times a second.
Loading a model converts its weights to the compute type in parallel on the loading thread; a request
or start-up thread that lives on keeps that team, and the model's own worker thread (where every
encode and decode runs) then has a second team beside it, which makes decoding much slower
(docs/performance.md, "Why the code is as it is").
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def on_own_thread(work: Callable[[], T], name: str) -> T:
    """`work()`, run on a new thread that ends when it returns (its exception is raised here)."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(work())
        except BaseException as exc:  # noqa: BLE001 - handed to the caller, on the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]
