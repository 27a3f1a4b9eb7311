"""Helpers for tests of the model's shared batches (app/adapters/whisperx/batching.py)."""

from __future__ import annotations

import time

from app.adapters.whisperx.batching import SharedBatches


def wait_for_waiting(batches: SharedBatches, count: int) -> None:
    """Until `count` calls wait for the model (the threads handing them in have reached it)."""
    deadline = time.monotonic() + 5
    while len(batches._waiting) < count:
        assert time.monotonic() < deadline, "the calls never queued"
        time.sleep(0.001)
