"""JobStore on SQLite under the data directory: jobs survive a restart of the server."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Collection
from dataclasses import replace
from pathlib import Path
from typing import Any

from app.adapters.jobs.codec import decode_delivery, decode_job, decode_speaker, decode_transcript, encode
from app.domain.models import ClientSecret, Delivery, Job, JobStatus, SpeakerProfile, Transcript

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    expires_at REAL,
    job BLOB NOT NULL,
    audio BLOB,
    result BLOB
)
"""


def _connect(path: Path, schema: str) -> sqlite3.Connection:
    """One connection shared by threads (each store serialises its writes with a lock), WAL journal."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(schema)
    return db


class SqliteJobStore:
    def __init__(self, path: Path) -> None:
        self._db = _connect(path, _SCHEMA)
        self._lock = threading.Lock()  # one connection, many threads: transitions must not interleave

    def create(self, job: Job, audio: bytes) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO jobs (id, status, expires_at, job, audio) VALUES (?, ?, ?, ?, ?)",
                (job.id, job.status.value, job.expires_at, encode(job), audio),
            )

    def get(self, job_id: str) -> Job | None:
        row = self._db.execute("SELECT job FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return decode_job(row[0]) if row else None

    def update(self, job_id: str, **changes: Any) -> None:
        with self._lock:
            job = self.get(job_id)
            if job is not None and not job.status.terminal:
                self._write(replace(job, **changes))

    def transition(
        self, job_id: str, from_statuses: Collection[JobStatus], *, increment_attempts: bool = False, **changes: Any
    ) -> Job | None:
        with self._lock:
            job = self.get(job_id)
            if job is None or job.status not in from_statuses:
                return None
            if increment_attempts:
                changes["attempts"] = job.attempts + 1
            changed = replace(job, **changes)
            self._write(changed)
            return changed

    def audio(self, job_id: str) -> bytes | None:
        row = self._db.execute("SELECT audio FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return row[0] if row else None

    def drop_audio(self, job_id: str) -> None:
        with self._lock:
            self._db.execute("UPDATE jobs SET audio = NULL WHERE id = ?", (job_id,))

    def put_result(self, job_id: str, transcript: Transcript) -> None:
        with self._lock:
            self._db.execute("UPDATE jobs SET result = ? WHERE id = ?", (encode(transcript), job_id))

    def result(self, job_id: str) -> Transcript | None:
        row = self._db.execute("SELECT result FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return decode_transcript(row[0]) if row and row[0] is not None else None

    def delete(self, job_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    def delete_expired(self, now: float) -> int:
        with self._lock:
            return self._db.execute("DELETE FROM jobs WHERE expires_at < ?", (now,)).rowcount

    def count_unfinished(self, owner: str | None = None) -> int:
        # Decoded, not counted in SQL: bounded by JOBS__MAX_UNFINISHED plus the requests running now.
        return sum(not job.is_tracked_request and (owner is None or job.owner == owner) for job in self.unfinished())

    def unfinished(self) -> list[Job]:
        """Jobs a previous process left queued or running."""
        rows = self._db.execute(
            "SELECT job FROM jobs WHERE status IN (?, ?)", (JobStatus.QUEUED.value, JobStatus.RUNNING.value)
        ).fetchall()
        return [decode_job(row[0]) for row in rows]

    def _write(self, job: Job) -> None:
        self._db.execute(
            "UPDATE jobs SET status = ?, expires_at = ?, job = ? WHERE id = ?",
            (job.status.value, job.expires_at, encode(job), job.id),
        )

    def close(self) -> None:
        self._db.close()


_OUTBOX_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    id TEXT PRIMARY KEY,
    next_attempt_at REAL NOT NULL,
    delivery BLOB NOT NULL
)
"""


class SqliteOutbox:
    """DeliveryOutbox in the jobs database: callbacks survive a restart like the jobs do."""

    def __init__(self, path: Path) -> None:
        self._db = _connect(path, _OUTBOX_SCHEMA)
        self._lock = threading.Lock()

    def add(self, delivery: Delivery) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO deliveries (id, next_attempt_at, delivery) VALUES (?, ?, ?)",
                (delivery.id, delivery.next_attempt_at, encode(delivery)),
            )

    def claim_due(self, now: float, lease_seconds: float) -> Delivery | None:
        with self._lock:
            row = self._db.execute(
                "SELECT delivery FROM deliveries WHERE next_attempt_at <= ? ORDER BY next_attempt_at LIMIT 1", (now,)
            ).fetchone()
            if row is None:
                return None
            delivery = decode_delivery(row[0])
            self._db.execute(
                "UPDATE deliveries SET next_attempt_at = ? WHERE id = ?", (now + lease_seconds, delivery.id)
            )
            return delivery

    def retry_at(self, delivery_id: str, attempts: int, at: float) -> None:
        with self._lock:
            row = self._db.execute("SELECT delivery FROM deliveries WHERE id = ?", (delivery_id,)).fetchone()
            if row is not None:
                changed = replace(decode_delivery(row[0]), attempts=attempts, next_attempt_at=at)
                self._db.execute(
                    "UPDATE deliveries SET next_attempt_at = ?, delivery = ? WHERE id = ?",
                    (at, encode(changed), delivery_id),
                )

    def remove(self, delivery_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM deliveries WHERE id = ?", (delivery_id,))


_SPEAKERS_SCHEMA = """
CREATE TABLE IF NOT EXISTS speakers (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    created_at REAL NOT NULL,
    profile BLOB NOT NULL
)
"""


class SqliteSpeakerRegistry:
    """The speaker registry beside the jobs: voice prints per API key, never the enrolment audio."""

    def __init__(self, path: Path) -> None:
        self._db = _connect(path, _SPEAKERS_SCHEMA)
        self._db.execute("CREATE INDEX IF NOT EXISTS speakers_by_owner ON speakers (owner, created_at)")
        self._lock = threading.Lock()

    def add(self, profile: SpeakerProfile) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO speakers (id, owner, created_at, profile) VALUES (?, ?, ?, ?)",
                (profile.id, profile.owner, profile.created_at, encode(profile)),
            )

    def list(self, owner: str) -> list[SpeakerProfile]:
        rows = self._db.execute("SELECT profile FROM speakers WHERE owner = ? ORDER BY created_at", (owner,))
        return [decode_speaker(row[0]) for row in rows.fetchall()]

    def get(self, owner: str, speaker_id: str) -> SpeakerProfile | None:
        row = self._db.execute(
            "SELECT profile FROM speakers WHERE owner = ? AND id = ?", (owner, speaker_id)
        ).fetchone()
        return decode_speaker(row[0]) if row else None

    def delete(self, owner: str, speaker_id: str) -> bool:
        with self._lock:
            return self._db.execute("DELETE FROM speakers WHERE owner = ? AND id = ?", (owner, speaker_id)).rowcount > 0


_SECRETS_SCHEMA = """
CREATE TABLE IF NOT EXISTS client_secrets (
    digest TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    session BLOB NOT NULL,
    expires_at REAL NOT NULL
)
"""


class SqliteClientSecrets:
    """Client secrets beside the jobs; expired ones are dropped as new ones come."""

    def __init__(self, path: Path) -> None:
        self._db = _connect(path, _SECRETS_SCHEMA)
        self._lock = threading.Lock()

    def add(self, secret: ClientSecret) -> None:
        with self._lock:
            self._db.execute("DELETE FROM client_secrets WHERE expires_at <= ?", (time.time(),))
            self._db.execute(
                "INSERT INTO client_secrets (digest, owner, session, expires_at) VALUES (?, ?, ?, ?)",
                (secret.digest, secret.owner, secret.session, secret.expires_at),
            )

    def get(self, digest: str, now: float) -> ClientSecret | None:
        row = self._db.execute(
            "SELECT owner, session, expires_at FROM client_secrets WHERE digest = ? AND expires_at > ?", (digest, now)
        ).fetchone()
        return ClientSecret(digest, row[0], bytes(row[1]), row[2]) if row else None
