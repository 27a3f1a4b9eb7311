"""What JOBS__BACKEND keeps together: jobs, webhook deliveries, enrolled voices, realtime client secrets, and
the worker processes' heartbeats. One family per backend, so every replica of a distributed server shares them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.adapters.jobs.local import NoWorkers
from app.adapters.jobs.sqlite_store import SqliteClientSecrets, SqliteJobStore, SqliteOutbox, SqliteSpeakerRegistry
from app.domain.ports.jobs import DeliveryOutbox, JobStore, WorkerRegistry
from app.domain.ports.secrets import ClientSecretStore
from app.domain.ports.speakers import SpeakerRegistry


@dataclass(frozen=True, slots=True)
class JobStores:
    jobs: JobStore
    outbox: DeliveryOutbox
    speakers: SpeakerRegistry
    client_secrets: ClientSecretStore
    workers: WorkerRegistry


def sqlite_stores(path: Path) -> JobStores:
    """JOBS__BACKEND=local: one SQLite file under the data directory; jobs run in this server."""
    return JobStores(
        SqliteJobStore(path), SqliteOutbox(path), SqliteSpeakerRegistry(path), SqliteClientSecrets(path), NoWorkers()
    )
