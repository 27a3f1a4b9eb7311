"""Jobs, transcripts, deliveries and speaker profiles as JSON, for stores that keep bytes (SQLite, Redis)."""

from __future__ import annotations

import msgspec

from app.domain.models import Delivery, Job, SpeakerProfile, Transcript

_job_decoder = msgspec.json.Decoder(Job)
_transcript_decoder = msgspec.json.Decoder(Transcript)
_delivery_decoder = msgspec.json.Decoder(Delivery)
_speaker_decoder = msgspec.json.Decoder(SpeakerProfile)


def encode(value: Job | Transcript | Delivery | SpeakerProfile) -> bytes:
    return msgspec.json.encode(value)


def decode_delivery(data: bytes) -> Delivery:
    return _delivery_decoder.decode(data)


def decode_job(data: bytes) -> Job:
    return _job_decoder.decode(data)


def decode_transcript(data: bytes) -> Transcript:
    return _transcript_decoder.decode(data)


def decode_speaker(data: bytes) -> SpeakerProfile:
    return _speaker_decoder.decode(data)
