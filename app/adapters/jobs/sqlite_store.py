"""JobStore on SQLite under the data directory: jobs survive a restart of the server."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Collection
from dataclasses import replace
from pathlib import Path
from typing import Any

from app.adapters.jobs.codec import decode_job, decode_transcript, encode
from app.domain.models import Job, JobStatus
from app.domain.models import Transcript

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


class SqliteJobStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)
        self._lock = threading.Lock()  # one connection, many threads: transitions must not interleave

    def create(self, job: Job, audio: bytes) -> None:
        with self._lock:
            self._db.execute("INSERT INTO jobs (id, status, expires_at, job, audio) VALUES (?, ?, ?, ?, ?)",
                             (job.id, job.status.value, job.expires_at, encode(job), audio))

    def get(self, job_id: str) -> Job | None:
        row = self._db.execute("SELECT job FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return decode_job(row[0]) if row else None

    def update(self, job_id: str, **changes: Any) -> None:
        with self._lock:
            job = self.get(job_id)
            if job is not None and not job.status.terminal:
                self._write(replace(job, **changes))

    def transition(self, job_id: str, from_statuses: Collection[JobStatus], *, increment_attempts: bool = False,
                   **changes: Any) -> Job | None:
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

    def count_unfinished(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM jobs WHERE status IN (?, ?)",
                                (JobStatus.QUEUED.value, JobStatus.RUNNING.value)).fetchone()[0]

    def unfinished(self) -> list[Job]:
        """Jobs a previous process left queued or running."""
        rows = self._db.execute("SELECT job FROM jobs WHERE status IN (?, ?)",
                                (JobStatus.QUEUED.value, JobStatus.RUNNING.value)).fetchall()
        return [decode_job(row[0]) for row in rows]

    def _write(self, job: Job) -> None:
        self._db.execute("UPDATE jobs SET status = ?, expires_at = ?, job = ? WHERE id = ?",
                         (job.status.value, job.expires_at, encode(job), job.id))

    def close(self) -> None:
        self._db.close()
