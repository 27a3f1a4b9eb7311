"""Jobs and transcripts as JSON, for stores that keep bytes (SQLite, Redis)."""

from __future__ import annotations

import msgspec

from app.domain.models import Delivery, Job, Transcript

_job_decoder = msgspec.json.Decoder(Job)
_transcript_decoder = msgspec.json.Decoder(Transcript)
_delivery_decoder = msgspec.json.Decoder(Delivery)


def encode(value: Job | Transcript | Delivery) -> bytes:
    return msgspec.json.encode(value)


def decode_delivery(data: bytes) -> Delivery:
    return _delivery_decoder.decode(data)


def decode_job(data: bytes) -> Job:
    return _job_decoder.decode(data)


def decode_transcript(data: bytes) -> Transcript:
    return _transcript_decoder.decode(data)
