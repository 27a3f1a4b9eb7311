"""`/health` and `/info`: what a client or the web page needs to adapt to this server."""

from __future__ import annotations

from typing import Literal

import msgspec


class Health(msgspec.Struct):
    status: str


class QueueInfo(msgspec.Struct, kw_only=True):
    running: int
    waiting: int
    max_concurrent_transcriptions: int
    max_queued_requests: int
    uploads_receiving: int
    max_concurrent_uploads: int


class JobsInfo(msgspec.Struct, kw_only=True):
    unfinished: int
    max_unfinished: int
    max_unfinished_per_key: int
    live_workers: int | None  # distributed mode: `whisperx-api-server worker` processes seen lately


class StageInfo(msgspec.Struct, kw_only=True):
    backend: str
    default_model: str | None


class ServerInfo(msgspec.Struct, kw_only=True):
    """GET /info: what a client or the web page needs to adapt to this server."""

    object: str = "server.info"
    version: str
    mode: Literal["local", "distributed"]
    uptime_seconds: float
    auth_required: bool
    max_upload_size_bytes: int
    max_audio_seconds: float
    response_formats: list[str]
    stages: dict[str, StageInfo]
    queue: QueueInfo
    jobs: JobsInfo
