"""Jobs and transcripts as JSON, for stores that keep bytes (SQLite, Redis)."""

from __future__ import annotations

import msgspec

from app.domain.models import Job
from app.domain.models import Transcript

_job_decoder = msgspec.json.Decoder(Job)
_transcript_decoder = msgspec.json.Decoder(Transcript)


def encode(value: Job | Transcript) -> bytes:
    return msgspec.json.encode(value)


def decode_job(data: bytes) -> Job:
    return _job_decoder.decode(data)


def decode_transcript(data: bytes) -> Transcript:
    return _transcript_decoder.decode(data)
