"""Async jobs: where they live, who runs them, the callbacks they owe; and who is told of finished work."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Protocol, runtime_checkable

from app.domain.models import Delivery, Job, JobStatus, Transcript, TranscriptionResult


class JobStore(Protocol):
    """Where jobs, their uploads and their results live. `transition` is atomic: of two workers
    handed the same job, one gets it."""

    def create(self, job: Job, audio: bytes) -> None: ...

    def get(self, job_id: str) -> Job | None: ...

    def update(self, job_id: str, **changes: Any) -> None:
        """Progress and stage, without a status change."""
        ...

    def transition(
        self, job_id: str, from_statuses: Collection[JobStatus], *, increment_attempts: bool = False, **changes: Any
    ) -> Job | None:
        """Apply `changes` if the job is in one of `from_statuses`; the changed job, else None."""
        ...

    def audio(self, job_id: str) -> bytes | None: ...

    def drop_audio(self, job_id: str) -> None: ...

    def put_result(self, job_id: str, transcript: Transcript) -> None: ...

    def result(self, job_id: str) -> Transcript | None: ...

    def delete(self, job_id: str) -> None: ...

    def delete_expired(self, now: float) -> int: ...

    def count_unfinished(self, owner: str | None = None) -> int:
        """Async jobs queued or running (of `owner` only, when given); tracked requests do not count."""
        ...


class JobDispatcher(Protocol):
    def dispatch(self, job_id: str) -> None:
        """Hand a stored, queued job to a worker."""
        ...

    def recover(self) -> int:
        """At start-up: hand unfinished jobs a previous process left behind to a worker again
        (a broker that redelivers by itself returns 0). Returns how many."""
        ...

    async def run_here(self) -> None:
        """Run dispatched jobs in this process until cancelled (returns at once where workers elsewhere
        run them)."""
        ...


class JobNotifier(Protocol):
    def check(self, url: str) -> None:
        """Raise InvalidRequest when `url` may not be called back (e.g. an internal address)."""
        ...

    def notify(self, job: Job) -> None:
        """Queue the call to the job's `callback_url` that it ended (it survives a restart)."""
        ...

    def deliver_due(self) -> int:
        """Send every queued call whose time has come; called periodically. Returns how many."""
        ...


class DeliveryOutbox(Protocol):
    """Callbacks not yet delivered, persisted beside the jobs. Any number of processes may deliver
    from one outbox: `claim_due` hands each due delivery to one of them at a time."""

    def add(self, delivery: Delivery) -> None: ...

    def claim_due(self, now: float, lease_seconds: float) -> Delivery | None:
        """Take one delivery whose time has come; nobody else gets it for `lease_seconds`."""
        ...

    def retry_at(self, delivery_id: str, attempts: int, at: float) -> None: ...

    def remove(self, delivery_id: str) -> None: ...


@runtime_checkable  # a typed handler dependency, which Litestar checks
class WorkerRegistry(Protocol):
    """Which job workers are alive (the distributed mode); in-process jobs have none."""

    def beat(self, name: str) -> None:
        """Say that worker `name` is alive (called every few seconds by the worker)."""
        ...

    def live(self) -> list[str]: ...


class ResultObserver(Protocol):
    """Told of every finished transcription (metrics)."""

    def observe_result(self, result: TranscriptionResult) -> None: ...
