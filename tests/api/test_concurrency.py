from __future__ import annotations

import threading

import anyio
import httpx
import pytest
from litestar.testing import AsyncTestClient

from app.entrypoints.http import create_app
from tests.conftest import audio_file


@pytest.mark.anyio
async def test_healthcheck_answers_while_a_transcription_is_running(container, fake_transcriber):
    fake_transcriber.release = threading.Event()
    responses = {}
    app = create_app(container)
    # AsyncTestClient runs the lifespan; requests go through httpx's ASGI transport, which,
    # unlike the test client's own transport, lets two requests run at once on this loop.
    async with (
        AsyncTestClient(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://test") as client,
    ):

        async def transcribe() -> None:
            responses["transcription"] = await client.post("/v1/audio/transcriptions", files=audio_file())

        async with anyio.create_task_group() as group:
            group.start_soon(transcribe)
            started = await anyio.to_thread.run_sync(fake_transcriber.started.wait, 10)
            assert started, "the transcription never started"
            with anyio.fail_after(2):
                health = await client.get("/healthcheck")
            assert health.status_code == 200
            assert "transcription" not in responses, "the transcription should still be running"
            fake_transcriber.release.set()
    assert responses["transcription"].status_code == 200


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
