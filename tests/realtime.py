"""Drive a realtime transcription session with the official SDK, audio sent at real-time pace.

Shared by the realtime tests and `make bench-realtime`: what a session sent, item by item, with the
wall-clock time each event arrived.
"""

from __future__ import annotations

import asyncio
import base64
import time
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

PCM_RATE = 24_000
CHUNK_MS = 100


def pcm24(samples: np.ndarray, rate: int = 16_000) -> bytes:
    """Mono float samples as OpenAI's `audio/pcm`: 24 kHz little-endian PCM16."""
    frame = av.AudioFrame.from_ndarray(
        (np.clip(samples, -1, 1) * 32767).astype(np.int16).reshape(1, -1), format="s16", layout="mono"
    )
    frame.sample_rate = rate
    resampler = av.AudioResampler(format="s16", layout="mono", rate=PCM_RATE)
    frames = [*resampler.resample(frame), *resampler.resample(None)]
    return b"".join(f.to_ndarray().astype("<i2").tobytes() for f in frames)


def load(path: Path) -> np.ndarray:
    from app.adapters.audio import PyAVDecoder, float_samples

    with path.open("rb") as source:
        return float_samples(PyAVDecoder().decode(source).samples)


def silence(seconds: float) -> bytes:
    return b"\0\0" * int(PCM_RATE * seconds)


@dataclass
class Item:
    id: str
    started: float | None = None  # speech_started arrived (seconds since the audio began)
    stopped: float | None = None
    committed: float | None = None
    first_delta: float | None = None
    completed: float | None = None
    deltas: list[str] = field(default_factory=list)
    transcript: str | None = None
    audio_start_ms: int | None = None
    audio_end_ms: int | None = None
    failed: object | None = None


@dataclass
class Session:
    events: list[tuple[float, object]] = field(default_factory=list)
    items: dict[str, Item] = field(default_factory=dict)
    errors: list[object] = field(default_factory=list)

    def item(self, item_id: str) -> Item:
        return self.items.setdefault(item_id, Item(item_id))

    def record(self, at: float, event) -> None:
        self.events.append((at, event))
        kind = event.type
        if kind == "error":
            self.errors.append(event.error)
            return
        item_id = getattr(event, "item_id", None)
        if item_id is None:
            return
        item = self.item(item_id)
        if kind == "input_audio_buffer.speech_started":
            item.started, item.audio_start_ms = at, event.audio_start_ms
        elif kind == "input_audio_buffer.speech_stopped":
            item.stopped, item.audio_end_ms = at, event.audio_end_ms
        elif kind == "input_audio_buffer.committed":
            item.committed = at
        elif kind.endswith("input_audio_transcription.delta"):
            item.first_delta = item.first_delta if item.first_delta is not None else at
            item.deltas.append(event.delta)
        elif kind.endswith("input_audio_transcription.completed"):
            item.completed, item.transcript = at, event.transcript
        elif kind.endswith("input_audio_transcription.failed"):
            item.failed = event.error

    @property
    def transcript(self) -> str:
        return " ".join(i.transcript for i in self.items.values() if i.transcript)

    def types(self) -> list[str]:
        return [e.type for _, e in self.events]


def transcription_session(
    *,
    language: str | None = None,
    turn_detection: dict | None | str = "server_vad",
    model: str = "gpt-4o-transcribe",
    **extra,
) -> dict:
    audio_input: dict = {
        "format": {"type": "audio/pcm", "rate": PCM_RATE},
        "transcription": {"model": model, **({"language": language} if language else {})},
    }
    if turn_detection == "server_vad":
        audio_input["turn_detection"] = {
            "type": "server_vad",
            "threshold": 0.5,
            "prefix_padding_ms": 300,
            "silence_duration_ms": 500,
        }
    else:
        audio_input["turn_detection"] = turn_detection
    return {"type": "transcription", "audio": {"input": audio_input}, **extra}


async def run_session(
    connection,
    audio: bytes,
    *,
    session: dict,
    commit_every: float | None = None,
    bytes_per_second: int = PCM_RATE * 2,
    settle_seconds: float = 10.0,
    turn_seconds: float = 300.0,
) -> Session:
    """Configure the session, send `audio` (`bytes_per_second` of it make a second: 48 000 for
    `audio/pcm`, 8 000 for G.711) in 100 ms appends at real-time pace, committing every
    `commit_every` seconds of audio, when given, and at the end; collect events until every turn is
    transcribed. Once the audio is sent, a turn begun and not yet transcribed is waited for up to
    `turn_seconds` (a busy machine decodes late, it does not drop turns); with none open, `settle_seconds`
    without an event end the session."""
    pcm = audio
    record = Session()
    await connection.send({"type": "session.update", "session": session})
    started = time.monotonic()
    step = bytes_per_second * CHUNK_MS // 1000
    commit_bytes = int(commit_every * bytes_per_second) if commit_every else None

    async def send_audio() -> None:
        since_commit = 0
        for offset in range(0, len(pcm), step):
            chunk = pcm[offset : offset + step]
            await connection.send({"type": "input_audio_buffer.append", "audio": base64.b64encode(chunk).decode()})
            since_commit += len(chunk)
            if commit_bytes and since_commit >= commit_bytes:
                await connection.send({"type": "input_audio_buffer.commit"})
                since_commit = 0
            await asyncio.sleep(max(0.0, started + (offset + step) / bytes_per_second - time.monotonic()))
        if commit_bytes and since_commit:
            await connection.send({"type": "input_audio_buffer.commit"})

    sender = asyncio.create_task(send_audio())
    try:
        while True:
            unfinished = [i for i in record.items.values() if i.completed is None and i.failed is None]
            try:
                event = await asyncio.wait_for(
                    connection.recv(), timeout=turn_seconds if unfinished else settle_seconds
                )
            except TimeoutError:
                break
            record.record(time.monotonic() - started, event)
            open_items = [
                i for i in record.items.values() if i.committed is not None and i.completed is None and i.failed is None
            ]
            if (
                sender.done()
                and not open_items
                and record.items
                and all(i.committed is not None for i in record.items.values())
            ):
                break
    finally:
        await sender
    return record


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word-level Levenshtein distance over the reference length, on lowercased words without punctuation."""

    def words(text: str) -> list[str]:
        cleaned = "".join(c.lower() if c.isalnum() or c.isspace() or c == "'" else " " for c in text)
        return cleaned.split()

    ref, hyp = words(reference), words(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        current = [i]
        for j, h in enumerate(hyp, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1] / max(1, len(ref))


def g711(samples: np.ndarray, codec: str = "pcm_mulaw", rate: int = 16_000) -> bytes:
    """Mono float samples as 8 kHz G.711 (`audio/pcmu` with pcm_mulaw, `audio/pcma` with pcm_alaw)."""
    encoder = av.CodecContext.create(codec, "w")
    encoder.sample_rate, encoder.layout, encoder.format = 8000, "mono", "s16"
    frame = av.AudioFrame.from_ndarray(
        (np.clip(samples, -1, 1) * 32767).astype(np.int16).reshape(1, -1), format="s16", layout="mono"
    )
    frame.sample_rate = rate
    resampler = av.AudioResampler(format="s16", layout="mono", rate=8000)
    return b"".join(
        bytes(packet) for f in [*resampler.resample(frame), *resampler.resample(None)] for packet in encoder.encode(f)
    )
