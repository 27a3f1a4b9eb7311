"""`stream=true`: OpenAI's server-sent transcription events, sent as segments are decoded.

Events: `transcript.text.delta` ({"type", "delta"}) per segment, then, for `diarized_json`, one
`transcript.text.segment` ({"type", "id", "start", "end", "text", "speaker"}) per speaker segment once
diarization is done, then one `transcript.text.done` ({"type", "text"}); the joined deltas equal
the done text. The done event carries no `usage`: the
official client types it as token counts only, and a duration there fails its strict validation. An error after the stream has
started is sent as {"type": "error", "error": {...}} in OpenAI's error shape.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import AsyncIterator

import anyio
import anyio.from_thread
import msgspec
import structlog
from litestar import Request
from litestar.response import Stream

from app.adapters.formatters.diarized_json import diarized_segment
from app.api.admission import run_when_free
from app.api.errors import domain_error_body, error_body
from app.api.params import AudioRequest
from app.api.services import Services
from app.domain.errors import DomainError
from app.domain.models import Segment

logger = structlog.get_logger(__name__)


def _event(payload: object) -> bytes:  # a dict or a msgspec Struct
    return b"data: " + msgspec.json.encode(payload) + b"\n\n"


async def stream_transcription(audio_request: AudioRequest, services: Services, request: Request) -> Stream:
    services.admission.admit()  # held until the stream ends
    release = _once(services.admission.leave)
    try:
        # Decode before answering, so an upload that is not audio still gets a plain 400.
        audio = await run_when_free(services.limiter, request.receive,
                                    lambda: services.pipeline.decoder.decode(audio_request.file))
    except BaseException:
        release()
        raise
    send, receive = anyio.create_memory_object_stream[bytes](max_buffer_size=math.inf)
    deltas: list[str] = []

    def on_segment(segment: Segment) -> None:  # called in the worker thread
        text = segment.text.strip()
        if not text:
            return
        delta = text if not deltas else " " + text
        deltas.append(delta)
        anyio.from_thread.run_sync(send.send_nowait, _event({"type": "transcript.text.delta", "delta": delta}))

    async def produce() -> None:
        async with send:
            try:
                result = await anyio.to_thread.run_sync(
                    lambda: services.pipeline.run_audio(audio, audio_request.options, on_segment=on_segment),
                    limiter=services.limiter,
                )
                services.metrics.observe_result(result)
                if audio_request.response_format == "diarized_json":
                    for segment in result.transcript.segments:
                        await send.send(_event(diarized_segment(segment)))
                await send.send(_event({"type": "transcript.text.done", "text": "".join(deltas)}))
            except DomainError as exc:
                await send.send(_event({"type": "error", "error": domain_error_body(exc)}))
            except Exception:  # noqa: BLE001 - the stream has started: report, never drop the connection silently
                logger.exception("stream failed")
                await send.send(_event({"type": "error", "error": error_body(
                    500, "The server had an error while processing your request.", code="internal_error")}))
            finally:
                release()

    async def events() -> AsyncIterator[bytes]:
        async with anyio.create_task_group() as group:
            group.start_soon(produce)
            async with receive:
                async for event in receive:
                    yield event

    body = events()
    # A client gone before the body was ever read leaves `produce` unstarted: free the slot when
    # the unused generator is collected.
    weakref.finalize(body, release)
    return Stream(body, media_type="text/event-stream", headers={"Cache-Control": "no-cache"})


def _once(action):
    done = threading.Lock()

    def run() -> None:
        if done.acquire(blocking=False):
            action()

    return run
